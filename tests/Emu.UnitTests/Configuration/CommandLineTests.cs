using Emu.Configuration;

namespace Emu.UnitTests.Configuration;

public sealed class CommandLineTests
{
    [Fact]
    public void QemuSwitchesBindToOptions()
    {
        EmuOptions o = EmuConfiguration.Load(
            ["-m", "256M", "-kernel", "ab.elf", "-append", "region=16 work=2", "-serial", "file:s.log", "-display", "none",
             "-qmp", "unix:/tmp/a.sock,server,wait=off", "-qmp", "tcp:127.0.0.1:4444,server,wait=off", "-no-reboot", "-mem-prealloc",
             "-incoming", "tcp:127.0.0.1:5555", "-d", "debug", "--log-file", "emu.log", "-drive", "file=disk.img,format=raw"],
            Path.GetTempPath());

        Assert.Equal(256UL << 20, o.RamSizeBytes);
        Assert.Equal("ab.elf", o.Kernel);
        Assert.Equal("region=16 work=2", o.Append);
        Assert.Equal("file:s.log", o.Serial);
        Assert.Equal(["unix:/tmp/a.sock,server,wait=off", "tcp:127.0.0.1:4444,server,wait=off"], o.Qmp);
        Assert.True(o.NoReboot);
        Assert.True(o.MemPrealloc);
        Assert.Equal("tcp:127.0.0.1:5555", o.Incoming);
        Assert.Equal("debug", o.LogLevel);
        Assert.Equal("emu.log", o.LogFile);
        Assert.Equal("disk.img", o.Drive);
    }

    [Theory]
    [InlineData(new[] { "-frobnicate" }, "emu: unknown option '-frobnicate'")]
    [InlineData(new[] { "-m" }, "emu: option '-m' needs a value")]
    [InlineData(new[] { "-m", "lots" }, "emu: option '-m': 'lots' is not a size")]
    [InlineData(new[] { "-m", "5G" }, "emu: option '-m': RAM size 5G must be whole MiB between 2M and 3G")]
    [InlineData(new[] { "-serial", "tty" }, "emu: option '-serial': 'tty' is not stdio, file:PATH or none")]
    [InlineData(new[] { "-display", "gtk" }, "emu: option '-display': 'gtk' is not supported")]
    [InlineData(new[] { "-drive", "file=x.img,format=qcow2" }, "emu: option '-drive': 'format=qcow2' is not supported")]
    [InlineData(new[] { "-m", "999999999999G" }, "emu: option '-m': RAM size 999999999999G must be whole MiB between 2M and 3G")]
    [InlineData(new[] { "-boot", "z" }, "emu: option '-boot': 'z' is not a boot order of a, c, d, n")]
    [InlineData(new[] { "-rtc", "base=yesterday" }, "emu: option '-rtc': 'base=yesterday' is not supported")]
    [InlineData(new[] { "-rtc", "clock=host" }, "emu: option '-rtc': 'clock=host' is not supported")]
    [InlineData(new[] { "-cpu", "pentium2" }, "emu: option '-cpu': 'pentium2' is not a CPU Emu can be")]
    [InlineData(new[] { "-accel", "kvm" }, "emu: option '-accel': 'kvm' is not available")]
    [InlineData(new[] { "-machine", "q35" }, "emu: option '-machine': 'q35' is not a machine Emu has")]
    [InlineData(new[] { "-device", "e1000" }, "emu: option '-device e1000': device 'e1000' is not supported")]
    [InlineData(new[] { "-device", "isa-debugcon,iobase=0x10000" }, "emu: option '-device isa-debugcon,iobase=0x10000': iobase '0x10000' is not an I/O port (0 to 0xffff)")]
    [InlineData(new[] { "-device", "isa-serial,chardev=nope" }, "emu: option '-device isa-serial,chardev=nope': chardev 'nope' is not defined")]
    [InlineData(new[] { "-d", "int,mmu" }, "emu: option '-d': unknown log item 'mmu'")]
    [InlineData(new[] { "-smp", "4" }, "emu: option '-smp': 4 vCPUs requested")]
    public void BadOptionsAreRefusedNamingTheOption(string[] args, string message)
    {
        var e = Assert.Throws<ConfigurationException>(() => EmuConfiguration.Load(args, Path.GetTempPath()));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void RtcBaseDateSetsTheCmosClocksStart()
    {
        EmuOptions o = EmuConfiguration.Load(["-rtc", "base=2006-06-17T16:01:21,clock=vm,driftfix=slew"], Path.GetTempPath());
        Assert.Equal(new DateTime(2006, 6, 17, 16, 1, 21, DateTimeKind.Utc), o.RtcBase);
    }

    [Fact]
    public void IsaDebugconGoesWhereItsIobaseSays()
    {
        // SeaBIOS as Debian builds it logs to 0x402: QEMU's way to see it is an isa-debugcon there.
        EmuOptions o = EmuConfiguration.Load(["-chardev", "stdio,id=seabios", "-device", "isa-debugcon,iobase=0x402,chardev=seabios"], Path.GetTempPath());
        Assert.Equal("stdio", o.Debugcon);
        Assert.Equal(0x402, o.DebugconPort);
        Assert.Equal(0xE9, EmuConfiguration.Load(["-debugcon", "stdio"], Path.GetTempPath()).DebugconPort);
    }

    [Fact]
    public void QemuDevicesTakeTheirChardevs()
    {
        EmuOptions o = EmuConfiguration.Load(
            ["-chardev", "file,id=log,path=dbg.txt", "-device", "isa-debugcon,iobase=0xe9,chardev=log", "-chardev", "null,id=s", "-device", "isa-serial,chardev=s", "-nographic", "-d", "int,unimp", "-D", "t.log"],
            Path.GetTempPath());
        Assert.Equal("file:dbg.txt", o.Debugcon);
        Assert.Equal("none", o.Serial);
        Assert.Equal("none", o.Display);
        Assert.Equal("int,unimp", o.Trace);
        Assert.Equal("t.log", o.TraceFile);
        Assert.Equal("warning", o.LogLevel);
    }

    [Fact]
    public void CommandLineBeatsEnvironmentWhichBeatsJson()
    {
        string dir = Directory.CreateTempSubdirectory("emu-cfg").FullName;
        File.WriteAllText(Path.Combine(dir, "emu.json"), """{ "Memory": "64M", "Serial": "none", "Display": "none" }""");
        Environment.SetEnvironmentVariable("EMU_Serial", "file:env.log");
        try
        {
            EmuOptions fromJsonAndEnv = EmuConfiguration.Load([], dir);
            Assert.Equal(64UL << 20, fromJsonAndEnv.RamSizeBytes);
            Assert.Equal("file:env.log", fromJsonAndEnv.Serial);

            EmuOptions cli = EmuConfiguration.Load(["-serial", "stdio"], dir);
            Assert.Equal("stdio", cli.Serial);
        }
        finally
        {
            Environment.SetEnvironmentVariable("EMU_Serial", null);
            Directory.Delete(dir, true);
        }
    }
}
