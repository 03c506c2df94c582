namespace ApiPlatform.Grains.Storage;

/// <summary>
/// How the project's tables store time: whole microseconds since the Unix epoch in a 64-bit integer, the same in
/// both dialects (SQLite has no timestamp type, and an integer sorts and compares the same everywhere). Values read
/// back are exact to the microsecond, so anything compared with a stored time is truncated to it first.
/// </summary>
public static class DbTime
{
    public static long Micros(DateTimeOffset value) => (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static DateTimeOffset FromMicros(long micros) => DateTimeOffset.UnixEpoch.AddTicks(micros * 10);

    /// <summary>The value as it reads back from a table (sub-microsecond ticks dropped).</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value) => FromMicros(Micros(value));
}
