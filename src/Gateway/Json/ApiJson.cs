using System.Text.Json;
using System.Text.Json.Serialization;

namespace ApiPlatform.Gateway.Json;

/// <summary>The API's JSON conventions: snake_case names, ISO 8601 UTC timestamps.</summary>
public static class ApiJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        // Dictionary keys are data (metadata keys, field names in errors): never renamed.
        options.DictionaryKeyPolicy = null;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        if (!options.Converters.OfType<UtcTimestampConverter>().Any())
        {
            options.Converters.Add(new UtcTimestampConverter());
        }

        return options;
    }

    /// <summary>Writes <c>2025-01-15T10:00:00Z</c>: UTC, second precision, as the contract shows.</summary>
    private sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.GetDateTimeOffset();

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
        {
            Span<byte> utf8 = stackalloc byte[Timestamps.Length];
            Timestamps.Write(utf8, value);
            writer.WriteStringValue(utf8);
        }
    }
}

/// <summary>
/// The API's timestamp form, <c>2025-01-15T10:00:00Z</c> (UTC, whole seconds), written digit by digit: every row of
/// every page carries two, and a custom format string goes through the runtime's general formatter each time.
/// </summary>
public static class Timestamps
{
    /// <summary>Characters (and UTF-8 bytes) of a formatted timestamp.</summary>
    public const int Length = 20;

    /// <summary>Writes <paramref name="value"/> in UTC as ASCII into the first <see cref="Length"/> bytes of <paramref name="destination"/>.</summary>
    public static void Write(Span<byte> destination, DateTimeOffset value)
    {
        var t = value.UtcDateTime;
        Digits(destination[..4], t.Year);
        destination[4] = (byte)'-';
        Digits(destination.Slice(5, 2), t.Month);
        destination[7] = (byte)'-';
        Digits(destination.Slice(8, 2), t.Day);
        destination[10] = (byte)'T';
        Digits(destination.Slice(11, 2), t.Hour);
        destination[13] = (byte)':';
        Digits(destination.Slice(14, 2), t.Minute);
        destination[16] = (byte)':';
        Digits(destination.Slice(17, 2), t.Second);
        destination[19] = (byte)'Z';
    }

    private static void Digits(Span<byte> destination, int value)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }
}

/// <summary>
/// A JSON object already in text form (a resource's stored metadata), written into responses as it is instead of being
/// parsed into a DOM and serialized again on every read.
/// </summary>
[JsonConverter(typeof(RawJsonObjectConverter))]
public readonly record struct RawJsonObject(string Json);

internal sealed class RawJsonObjectConverter : JsonConverter<RawJsonObject>
{
    public override RawJsonObject Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        return new RawJsonObject(document.RootElement.GetRawText());
    }

    // Validated as it is copied (a cheap forward scan), so a damaged stored value fails here rather than as broken JSON.
    public override void Write(Utf8JsonWriter writer, RawJsonObject value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.Json);
}
