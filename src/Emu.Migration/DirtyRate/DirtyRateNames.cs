namespace Emu.Migration.DirtyRate;

/// <summary>The one mapping between the dirty-rate enums and QEMU's QMP names.</summary>
public static class DirtyRateNames
{
    private static readonly string[] Modes = ["page-sampling", "dirty-ring", "dirty-bitmap"];
    private static readonly string[] Statuses = ["unstarted", "measuring", "measured"];
    private static readonly string[] TimeUnits = ["second", "millisecond"];

    public static string ToQmp(this DirtyRateMeasureMode mode) => Modes[(int)mode];

    public static string ToQmp(this DirtyRateStatus status) => Statuses[(int)status];

    public static string ToQmp(this DirtyRateTimeUnit unit) => TimeUnits[(int)unit];

    public static bool TryParse(string name, out DirtyRateMeasureMode mode) => TryParse(Modes, name, out mode);

    public static bool TryParse(string name, out DirtyRateTimeUnit unit) => TryParse(TimeUnits, name, out unit);

    private static bool TryParse<TEnum>(string[] names, string name, out TEnum value)
        where TEnum : struct, Enum
    {
        int i = Array.IndexOf(names, name);
        value = i < 0 ? default : (TEnum)(object)i;
        return i >= 0;
    }
}
