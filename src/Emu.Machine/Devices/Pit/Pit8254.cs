using Emu.Machine.Board;
using Emu.Machine.Io;
using Emu.Machine.State;

namespace Emu.Machine.Devices.Pit;

/// <summary>
/// The Intel 8254 PIT at ports 0x40–0x43 (QEMU hw/timer/i8254.c): three counters at 1.193182 MHz, modes 0–5,
/// latch and read-back commands, LSB/MSB/word access. Counter 0 drives IRQ 0 through a <see cref="VirtualTimer"/>
/// armed for the output's next change; counter 2's gate and output belong to port 0x61
/// (<see cref="PcSpeakerPort"/>). The BCD flag is stored and reported, counting is binary (as QEMU).
/// Runs on the vCPU thread only (port I/O and timers); state is saved and loaded while the guest is stopped.
/// </summary>
public sealed class Pit8254 : IIoDevice, IVmState<PitState>
{
    internal static readonly VmStateDescription<PitChannelState> ChannelDescription = new(
        "pit channel", version: 1, minimumVersion: 1, () => new PitChannelState(),
        [
            VmField.I32<PitChannelState>("count", s => s.Count, (s, v) => s with { Count = v }),
            VmField.U16<PitChannelState>("latched_count", s => s.LatchedCount, (s, v) => s with { LatchedCount = v }),
            VmField.U8<PitChannelState>("count_latched", s => s.CountLatched, (s, v) => s with { CountLatched = v }),
            VmField.Bool<PitChannelState>("status_latched", s => s.StatusLatched, (s, v) => s with { StatusLatched = v }),
            VmField.U8<PitChannelState>("status", s => s.Status, (s, v) => s with { Status = v }),
            VmField.U8<PitChannelState>("read_state", s => s.ReadState, (s, v) => s with { ReadState = v }),
            VmField.U8<PitChannelState>("write_state", s => s.WriteState, (s, v) => s with { WriteState = v }),
            VmField.U8<PitChannelState>("write_latch", s => s.WriteLatch, (s, v) => s with { WriteLatch = v }),
            VmField.U8<PitChannelState>("rw_mode", s => s.RwMode, (s, v) => s with { RwMode = v }),
            VmField.U8<PitChannelState>("mode", s => s.Mode, (s, v) => s with { Mode = v }),
            VmField.Bool<PitChannelState>("bcd", s => s.Bcd, (s, v) => s with { Bcd = v }),
            VmField.Bool<PitChannelState>("gate", s => s.Gate, (s, v) => s with { Gate = v }),
            VmField.I64<PitChannelState>("count_load_time", s => s.CountLoadTime, (s, v) => s with { CountLoadTime = v }),
            VmField.I64<PitChannelState>("next_transition_time", s => s.NextTransitionTime, (s, v) => s with { NextTransitionTime = v }),
        ]);

    public static readonly VmStateDescription<PitState> StateDescription = new(
        "i8254", version: 1, minimumVersion: 1, () => new PitState(),
        [
            VmField.StructArray<PitState, PitChannelState>(
                "channels", 3, ChannelDescription,
                s => [s.Channel0, s.Channel1, s.Channel2],
                (s, v) => s with { Channel0 = v[0], Channel1 = v[1], Channel2 = v[2] }),
        ],
        validate: Validate);

    private readonly VirtualClock _clock;
    private readonly IIrqLines _irq;
    private readonly VirtualTimer _timer;
    private readonly PitChannel[] _channels = [new(), new(), new()];

    public Pit8254(VirtualClock clock, IIrqLines irq)
    {
        _clock = clock;
        _irq = irq;
        _timer = clock.CreateTimer("i8254", _ => IrqTimerUpdate(_channels[0].NextTransitionTime));
        Reset();
    }

    public string SectionName => StateDescription.Name;

    public VmStateDescription<PitState> Vmsd => StateDescription;

    public void Register(IoBus bus) => bus.Register(0x40, 4, this);

    /// <summary>QEMU pit_reset: every counter in mode 3 with count 0x10000; gates high except counter 2's.</summary>
    public void Reset()
    {
        long now = _clock.NowNs;
        for (int i = 0; i < _channels.Length; i++)
        {
            PitChannel c = _channels[i];
            c.Load(new PitChannelState { Mode = 3, Gate = i != 2 });
            LoadCount(i, 0, now);
        }
    }

    public uint IoRead(ushort port, int size)
    {
        int addr = port & 3;

        // The control word register is write-only.
        return addr == 3 ? 0u : _channels[addr].ReadCounter(_clock.NowNs);
    }

    public void IoWrite(ushort port, int size, uint value)
    {
        byte val = (byte)value;
        int addr = port & 3;
        long now = _clock.NowNs;
        if (addr == 3)
        {
            WriteControl(val, now);
            return;
        }

        PitChannel c = _channels[addr];
        switch (c.WriteState)
        {
            case PitChannel.RwStateMsb:
                LoadCount(addr, val << 8, now);
                break;
            case PitChannel.RwStateWord0:
                c.WriteLatch = val;
                c.WriteState = PitChannel.RwStateWord1;
                break;
            case PitChannel.RwStateWord1:
                LoadCount(addr, c.WriteLatch | (val << 8), now);
                c.WriteState = PitChannel.RwStateWord0;
                break;
            default:
                LoadCount(addr, val, now);
                break;
        }
    }

    public PitState Save() => new()
    {
        Channel0 = _channels[0].Save(),
        Channel1 = _channels[1].Save(),
        Channel2 = _channels[2].Save(),
    };

    public void Load(PitState state)
    {
        StateCheck.Require(SectionName, Validate(state));
        _channels[0].Load(state.Channel0);
        _channels[1].Load(state.Channel1);
        _channels[2].Load(state.Channel2);

        // QEMU pit_post_load: re-arm counter 0's timer for the saved transition (the clock migrates with it).
        long next = _channels[0].NextTransitionTime;
        if (next >= 0)
        {
            _timer.Arm(next);
        }
        else
        {
            _timer.Disarm();
        }
    }

    /// <summary>QEMU pit_set_gate: a rising gate restarts counting in modes 1, 2, 3 and 5.</summary>
    internal void SetGate(int channel, bool gate)
    {
        PitChannel c = _channels[channel];
        if (!c.Gate && gate && c.Mode is 1 or 2 or 3 or 5)
        {
            c.CountLoadTime = _clock.NowNs;
            if (channel == 0)
            {
                IrqTimerUpdate(c.CountLoadTime);
            }
        }

        c.Gate = gate;
    }

    internal bool GetGate(int channel) => _channels[channel].Gate;

    internal bool GetOut(int channel) => _channels[channel].GetOut(_clock.NowNs);

    private static string? Validate(PitState s) =>
        PitChannel.Validate(s.Channel0, 0) ?? PitChannel.Validate(s.Channel1, 1) ?? PitChannel.Validate(s.Channel2, 2);

    private void WriteControl(byte val, long now)
    {
        int channel = val >> 6;
        if (channel == 3)
        {
            // Read-back: bit 5 clear latches counts, bit 4 clear latches status, bits 1–3 select counters.
            for (int i = 0; i < 3; i++)
            {
                if ((val & (2 << i)) == 0)
                {
                    continue;
                }

                if ((val & 0x20) == 0)
                {
                    _channels[i].LatchCount(now);
                }

                if ((val & 0x10) == 0)
                {
                    _channels[i].LatchStatus(now);
                }
            }

            return;
        }

        PitChannel c = _channels[channel];
        byte access = (byte)((val >> 4) & 3);
        if (access == 0)
        {
            c.LatchCount(now);
            return;
        }

        c.RwMode = access;
        c.ReadState = access;
        c.WriteState = access;

        // Modes 6 and 7 are aliases of 2 and 3 on a real 8254.
        int mode = (val >> 1) & 7;
        c.Mode = (byte)(mode >= 6 ? mode - 4 : mode);
        c.Bcd = (val & 1) != 0;
    }

    /// <summary>QEMU pit_load_count: 0 means 0x10000; counting restarts now.</summary>
    private void LoadCount(int channel, int value, long now)
    {
        PitChannel c = _channels[channel];
        c.Count = value == 0 ? 0x10000 : value;
        c.CountLoadTime = now;
        if (channel == 0)
        {
            IrqTimerUpdate(now);
        }
    }

    /// <summary>QEMU pit_irq_timer_update: drive IRQ 0 from OUT at <paramref name="atNs"/> and schedule the next change.</summary>
    private void IrqTimerUpdate(long atNs)
    {
        PitChannel c = _channels[0];
        long next = c.GetNextTransitionTime(atNs);
        _irq.SetIrq(0, c.GetOut(atNs));
        c.NextTransitionTime = next;
        if (next >= 0)
        {
            _timer.Arm(next);
        }
        else
        {
            _timer.Disarm();
        }
    }
}
