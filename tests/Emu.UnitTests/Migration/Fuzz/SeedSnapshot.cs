using System.Buffers.Binary;
using System.Diagnostics;
using Emu.Machine.Board;
using Emu.Migration.Precopy;

namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>
/// The stream the fuzzer damages: the a-b guest's machine after a fixed number of its instructions, saved by the
/// migration thread to <c>file:</c> exactly as <c>migrate file:PATH</c> writes it. The instructions run on the
/// calling thread while the machine is still in prelaunch, so its virtual clock stands still and no timer fires:
/// the same build writes the same bytes every time, which makes a run seed name the same mutants.
/// </summary>
internal static class SeedSnapshot
{
    /// <summary>Enough for the guest to set up its UART, print "A" and sweep its 1 MiB region a few times.</summary>
    public const long GuestInstructions = 300_000;

    private static readonly TimeSpan SaveTimeout = TimeSpan.FromSeconds(60);

    public static byte[] Build(byte[] kernel, string directory)
    {
        string path = Path.Combine(directory, "seed.snapshot");
        using (PcMachine machine = FuzzGuest.Build(kernel))
        {
            machine.Cpu.Run(GuestInstructions);
            using var migration = new MigrationController(machine, (_, _) => { });
            migration.StartOutgoing($"file:{path}");
            var clock = Stopwatch.StartNew();
            while (migration.Status != MigrationStatus.Completed)
            {
                if (migration.Status == MigrationStatus.Failed || clock.Elapsed > SaveTimeout)
                {
                    throw new InvalidOperationException($"fuzz: saving the seed snapshot ended {migration.Status.ToQmp()}: {migration.OutgoingThread?.Error}");
                }

                Thread.Sleep(5);
            }
        }

        byte[] bytes = File.ReadAllBytes(path);
        File.Delete(path);
        StampFixedDowntime(bytes);
        return bytes;
    }

    /// <summary>
    /// The "emu-downtime" section carries the host's CLOCK_MONOTONIC at the source stop: a constant in its place
    /// keeps the seed the same from run to run (any positive value loads).
    /// </summary>
    private static void StampFixedDowntime(byte[] bytes)
    {
        foreach (StreamSection s in SnapshotLayout.Parse(bytes).Sections)
        {
            if (s.IdStr == "emu-downtime")
            {
                // Footer (5 bytes) last, the be64 payload before it.
                BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(s.End - 5 - 8), 1);
                return;
            }
        }

        throw new InvalidOperationException("fuzz: the seed snapshot has no emu-downtime section");
    }
}
