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

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Timestamps.Format(value));
    }
}

/// <summary>Timestamp formatting shared by JSON and headers.</summary>
public static class Timestamps
{
    public static string Format(DateTimeOffset value) =>
        value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
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
