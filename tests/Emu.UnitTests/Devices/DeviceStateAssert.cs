using Emu.Machine.State;

namespace Emu.UnitTests.Devices;

/// <summary>The two checks every device's state must pass: a byte round trip, and a refused load that changes nothing.</summary>
internal static class DeviceStateAssert
{
    /// <summary>Save → bytes → load on <paramref name="fresh"/> → the same record, with every byte consumed.</summary>
    public static TState RoundTrip<TState>(IVmState<TState> source, IVmState<TState> fresh)
    {
        TState saved = source.Save();
        var w = new ByteStateWriter();
        ((IVmStateDevice)source).SaveState(w);
        var r = new ByteStateReader(w.ToArray());
        ((IVmStateDevice)fresh).LoadState(r, source.Vmsd.Version);
        Assert.Equal(0, r.Remaining);
        Assert.Equal(saved, fresh.Save());
        return saved;
    }

    /// <summary>Loading <paramref name="state"/> as <paramref name="version"/> throws and leaves the device as it was.</summary>
    public static VmStateException Refused<TState>(IVmState<TState> device, TState state, int version)
    {
        TState before = device.Save();
        var w = new ByteStateWriter();
        device.Vmsd.Save(state, w);
        VmStateException e = Assert.Throws<VmStateException>(() =>
            ((IVmStateDevice)device).LoadState(new ByteStateReader(w.ToArray()), version));
        Assert.Equal(before, device.Save());
        return e;
    }

    /// <summary>A wrong version and an out-of-range record are both refused without touching the device.</summary>
    public static void RefusesBadLoads<TState>(IVmState<TState> device, TState outOfRange)
    {
        TState good = device.Save();
        VmStateException v = Refused(device, good, device.Vmsd.Version + 1);
        Assert.Contains("version", v.Message);
        Refused(device, outOfRange, device.Vmsd.Version);

        // The record path validates too, not only the stream path.
        TState before = device.Save();
        Assert.Throws<VmStateException>(() => device.Load(outOfRange));
        Assert.Equal(before, device.Save());
    }
}
