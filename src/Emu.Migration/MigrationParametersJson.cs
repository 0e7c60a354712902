using System.Text.Json;
using System.Text.Json.Nodes;

namespace Emu.Migration;

/// <summary>
/// The one mapping between <see cref="MigrationParameters"/> and QEMU's QMP parameter names and types
/// (query-migrate-parameters / migrate-set-parameters). Type errors use QAPI's wording; range errors come from
/// <see cref="MigrationParameters.Validate"/>.
/// </summary>
public static class MigrationParametersJson
{
    private enum Kind
    {
        UInt64,
        UInt8,
        Bool,

        /// <summary>A <see cref="Multifd.MultifdCompression"/>, by its QMP name.</summary>
        Compression,
    }

    private sealed record Entry(string Name, Kind Kind, Func<MigrationParameters, ulong> Get, Func<MigrationParameters, ulong, MigrationParameters> Set);

    private static readonly Entry[] Entries =
    [
        new("throttle-trigger-threshold", Kind.UInt8, p => p.ThrottleTriggerThresholdPercent, (p, v) => p with { ThrottleTriggerThresholdPercent = v }),
        new("cpu-throttle-initial", Kind.UInt8, p => p.CpuThrottleInitialPercent, (p, v) => p with { CpuThrottleInitialPercent = v }),
        new("cpu-throttle-increment", Kind.UInt8, p => p.CpuThrottleIncrementPercent, (p, v) => p with { CpuThrottleIncrementPercent = v }),
        new("cpu-throttle-tailslow", Kind.Bool, p => p.CpuThrottleTailslow ? 1UL : 0UL, (p, v) => p with { CpuThrottleTailslow = v != 0 }),
        new("max-bandwidth", Kind.UInt64, p => p.MaxBandwidthBytesPerSec, (p, v) => p with { MaxBandwidthBytesPerSec = v }),
        new("avail-switchover-bandwidth", Kind.UInt64, p => p.AvailSwitchoverBandwidthBytesPerSec, (p, v) => p with { AvailSwitchoverBandwidthBytesPerSec = v }),
        new("downtime-limit", Kind.UInt64, p => p.DowntimeLimitMs, (p, v) => p with { DowntimeLimitMs = v }),
        new("max-postcopy-bandwidth", Kind.UInt64, p => p.MaxPostcopyBandwidthBytesPerSec, (p, v) => p with { MaxPostcopyBandwidthBytesPerSec = v }),
        new("max-cpu-throttle", Kind.UInt8, p => p.MaxCpuThrottlePercent, (p, v) => p with { MaxCpuThrottlePercent = v }),
        new("xbzrle-cache-size", Kind.UInt64, p => p.XbzrleCacheSizeBytes, (p, v) => p with { XbzrleCacheSizeBytes = v }),
        new("x-vcpu-dirty-limit-period", Kind.UInt64, p => p.VcpuDirtyLimitPeriodMs, (p, v) => p with { VcpuDirtyLimitPeriodMs = v }),
        new("vcpu-dirty-limit", Kind.UInt64, p => p.VcpuDirtyLimitMbPerSec, (p, v) => p with { VcpuDirtyLimitMbPerSec = v }),
        new("x-postcopy-recover-timeout", Kind.UInt64, p => p.PostcopyRecoverTimeoutMs, (p, v) => p with { PostcopyRecoverTimeoutMs = v }),
        new("multifd-channels", Kind.UInt8, p => p.MultifdChannels, (p, v) => p with { MultifdChannels = v }),
        new("multifd-compression", Kind.Compression, p => (ulong)p.MultifdCompression, (p, v) => p with { MultifdCompression = (Multifd.MultifdCompression)v }),
        new("multifd-zlib-level", Kind.UInt8, p => p.MultifdZlibLevel, (p, v) => p with { MultifdZlibLevel = v }),
        new("multifd-zstd-level", Kind.UInt8, p => p.MultifdZstdLevel, (p, v) => p with { MultifdZstdLevel = v }),
    ];

    /// <summary>query-migrate-parameters.</summary>
    public static JsonObject ToQmp(MigrationParameters p)
    {
        var o = new JsonObject();
        foreach (Entry e in Entries)
        {
            ulong v = e.Get(p);
            o[e.Name] = e.Kind switch
            {
                Kind.Bool => JsonValue.Create(v != 0),
                Kind.Compression => JsonValue.Create(Multifd.MultifdCompressionNames.ToQmp((Multifd.MultifdCompression)v)),
                _ => JsonValue.Create(v),
            };
        }

        return o;
    }

    /// <summary>
    /// migrate-set-parameters: merges <paramref name="args"/> into <paramref name="current"/> and validates the
    /// result. Returns the QMP error text, or null with <paramref name="result"/> set.
    /// </summary>
    public static string? TryApply(MigrationParameters current, JsonObject args, out MigrationParameters result)
    {
        result = current;
        MigrationParameters p = current;
        foreach (KeyValuePair<string, JsonNode?> kv in args)
        {
            Entry? e = Array.Find(Entries, x => x.Name == kv.Key);
            if (e == null)
            {
                return $"Parameter '{kv.Key}' is unexpected";
            }

            string? error = TryRead(e, kv.Value, out ulong v);
            if (error != null)
            {
                return error;
            }

            p = e.Set(p, v);
        }

        string? invalid = p.Validate();
        if (invalid != null)
        {
            return invalid;
        }

        result = p;
        return null;
    }

    private static string? TryRead(Entry e, JsonNode? node, out ulong value)
    {
        value = 0;
        if (e.Kind == Kind.Bool)
        {
            if (node is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
            {
                value = b.GetValue<bool>() ? 1UL : 0UL;
                return null;
            }

            return $"Invalid parameter type for '{e.Name}', expected: boolean";
        }

        if (e.Kind == Kind.Compression)
        {
            if (node is not JsonValue c || c.GetValueKind() != JsonValueKind.String)
            {
                return $"Invalid parameter type for '{e.Name}', expected: string";
            }

            string name = c.GetValue<string>();
            if (!Multifd.MultifdCompressionNames.TryParse(name, out Multifd.MultifdCompression compression))
            {
                return $"Parameter '{e.Name}' does not accept value '{name}'";
            }

            value = (ulong)compression;
            return null;
        }

        if (node is not JsonValue j || j.GetValueKind() != JsonValueKind.Number)
        {
            return $"Invalid parameter type for '{e.Name}', expected: integer";
        }

        // QAPI's uint64 accepts negative numbers for backward compatibility and wraps them. The JSON text is
        // parsed so values built in code and values parsed from a socket behave alike.
        string text = j.ToJsonString();
        if (ulong.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong u))
        {
            value = u;
        }
        else if (long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long l))
        {
            value = unchecked((ulong)l);
        }
        else
        {
            return $"Invalid parameter type for '{e.Name}', expected: integer";
        }

        if (e.Kind == Kind.UInt8 && value > byte.MaxValue)
        {
            return $"Parameter '{e.Name}' expects uint8_t";
        }

        return null;
    }
}
