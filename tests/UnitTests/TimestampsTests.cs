using System.Globalization;
using System.Text.Json;
using ApiPlatform.Gateway.Json;

namespace ApiPlatform.UnitTests;

/// <summary>The API's timestamps: UTC, whole seconds, the same text as the runtime's formatter would give.</summary>
public sealed class TimestampsTests
{
    private static string Expected(DateTimeOffset value) =>
        value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Written(DateTimeOffset value)
    {
        Span<byte> utf8 = stackalloc byte[Timestamps.Length];
        Timestamps.Write(utf8, value);
        return System.Text.Encoding.ASCII.GetString(utf8);
    }

    public static TheoryData<DateTimeOffset> Edges =>
    [
        DateTimeOffset.MinValue,
        DateTimeOffset.MaxValue,
        new DateTimeOffset(2025, 1, 15, 10, 0, 0, TimeSpan.Zero),
        new DateTimeOffset(1999, 12, 31, 23, 59, 59, 999, TimeSpan.Zero),
        new DateTimeOffset(2024, 2, 29, 0, 0, 0, TimeSpan.FromHours(5.5)),
        new DateTimeOffset(2024, 3, 1, 1, 2, 3, TimeSpan.FromHours(-11)),
        new DateTimeOffset(1, 1, 1, 12, 0, 0, TimeSpan.FromHours(12)),
    ];

    [Theory]
    [MemberData(nameof(Edges))]
    public void Edges_are_written_as_the_runtime_formats_them_in_utc(DateTimeOffset value)
    {
        Assert.Equal(Expected(value), Written(value));
        Assert.Equal($"\"{Expected(value)}\"", JsonSerializer.Serialize(value, ApiJson.Options));
    }

    [Fact]
    public void Any_instant_is_written_as_the_runtime_formats_it_in_utc()
    {
        var random = new Random(20261202);
        for (var i = 0; i < 20_000; i++)
        {
            var ticks = random.NextInt64(DateTimeOffset.MinValue.UtcTicks + TimeSpan.TicksPerDay, DateTimeOffset.MaxValue.UtcTicks - TimeSpan.TicksPerDay);
            var value = new DateTimeOffset(ticks, TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(random.Next(-14 * 60, (14 * 60) + 1)));
            Assert.Equal(Expected(value), Written(value));
        }
    }
}
