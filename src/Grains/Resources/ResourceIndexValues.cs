using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ApiPlatform.Grains.Resources;

/// <summary>
/// The values of a resource's indexed metadata fields as stored in the slot columns <c>ix1..ix5</c>: text whose byte
/// order is the value order, so one text column and one B-tree serve every value type, on PostgreSQL ("C" collation)
/// and SQLite (BINARY) alike. A missing (or null) field is <see cref="Missing"/>, the empty string, which sorts before
/// every value; a value is <c>'='</c> followed by its encoding: strings as they are, numbers as the 16 hex digits of
/// their IEEE 754 bits made order-preserving (sign bit flipped for positives, all bits for negatives), booleans as
/// <c>0</c>/<c>1</c>, timestamps as their microseconds since the epoch, sign-flipped to 16 hex digits.
/// </summary>
public static partial class ResourceIndexValues
{
    public const string Missing = "";

    /// <summary>Longest indexed string value (UTF-8 bytes): an index entry must fit a B-tree page comfortably.</summary>
    public const int MaxStringBytes = 512;

    /// <summary>The slot column of slot <paramref name="slot"/> (0-based).</summary>
    public static string Column(int slot) => slot is >= 0 and < ResourceTypeRules.MaxIndexes
        ? "ix" + (slot + 1).ToString(CultureInfo.InvariantCulture)
        : throw new ArgumentOutOfRangeException(nameof(slot));

    /// <summary>
    /// The slot values of a resource with <paramref name="metadata"/> under <paramref name="type"/>'s indexes (nulls for
    /// unused slots; all nulls for an undeclared type). With <paramref name="errors"/>, a value of the wrong kind is
    /// reported there as <c>metadata.&lt;field&gt;</c> (a write); without, it is indexed as missing (re-indexing
    /// resources written before the index existed).
    /// </summary>
    public static string?[] Compute(string metadata, ResourceTypeView? type, Dictionary<string, List<string>>? errors)
    {
        var slots = new string?[ResourceTypeRules.MaxIndexes];
        if (type is null || type.Indexes.Count == 0)
        {
            return slots;
        }

        using var document = JsonDocument.Parse(metadata);
        foreach (var field in type.Indexes)
        {
            string? encoded = Missing;
            if (document.RootElement.TryGetProperty(field.Field, out var value) && value.ValueKind != JsonValueKind.Null)
            {
                encoded = Encode(field.Type, value, out var problem);
                if (encoded is null)
                {
                    if (errors is not null)
                    {
                        var key = "metadata." + field.Field;
                        if (!errors.TryGetValue(key, out var list))
                        {
                            errors[key] = list = [];
                        }

                        list.Add($"{problem} (an indexed {field.Type} field of type '{type.Name}')");
                    }

                    encoded = Missing;
                }
            }

            slots[field.Slot] = encoded;
        }

        return slots;
    }

    /// <summary>The stored form of a JSON value of kind <paramref name="kind"/>; null with a reason when it is not one.</summary>
    public static string? Encode(string kind, JsonElement value, out string? problem)
    {
        problem = null;
        switch (kind)
        {
            case IndexedFieldTypes.String when value.ValueKind == JsonValueKind.String:
                return String(value.GetString()!, out problem);
            case IndexedFieldTypes.Number when value.ValueKind == JsonValueKind.Number:
                if (value.TryGetDouble(out var number) && double.IsFinite(number))
                {
                    return Number(number);
                }

                problem = "must be a finite number";
                return null;
            case IndexedFieldTypes.Boolean when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                return value.ValueKind == JsonValueKind.True ? "=1" : "=0";
            case IndexedFieldTypes.Timestamp when value.ValueKind == JsonValueKind.String:
                return Timestamp(value.GetString()!, out problem);
            default:
                problem = kind switch
                {
                    IndexedFieldTypes.String => "must be a string",
                    IndexedFieldTypes.Number => "must be a number",
                    IndexedFieldTypes.Boolean => "must be true or false",
                    _ => "must be an ISO 8601 timestamp such as 2030-01-15T10:00:00Z",
                };
                return null;
        }
    }

    /// <summary>The stored form of a filter value written in a query string; null with a reason when it is not one.</summary>
    public static string? EncodeText(string kind, string text, out string? problem)
    {
        problem = null;
        switch (kind)
        {
            case IndexedFieldTypes.String:
                return String(text, out problem);
            case IndexedFieldTypes.Number:
                if (double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                        CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
                {
                    return Number(number);
                }

                problem = "must be a number";
                return null;
            case IndexedFieldTypes.Boolean:
                if (text is "true" or "false")
                {
                    return text == "true" ? "=1" : "=0";
                }

                problem = "must be true or false";
                return null;
            default:
                return Timestamp(text, out problem);
        }
    }

    private static string? String(string value, out string? problem)
    {
        if (Encoding.UTF8.GetByteCount(value) > MaxStringBytes)
        {
            problem = $"must be at most {MaxStringBytes} bytes";
            return null;
        }

        problem = null;
        return "=" + value;
    }

    private static string Number(double value)
    {
        var bits = (ulong)BitConverter.DoubleToInt64Bits(value == 0 ? 0d : value); // -0 and 0 are one value
        var ordered = (bits & 0x8000_0000_0000_0000UL) == 0 ? bits | 0x8000_0000_0000_0000UL : ~bits;
        return "=" + ordered.ToString("X16", CultureInfo.InvariantCulture);
    }

    private static string? Timestamp(string text, out string? problem)
    {
        if (IsoTimestamp().IsMatch(text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var value))
        {
            problem = null;
            var micros = (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
            return "=" + ((ulong)micros ^ 0x8000_0000_0000_0000UL).ToString("X16", CultureInfo.InvariantCulture);
        }

        problem = "must be an ISO 8601 timestamp such as 2030-01-15T10:00:00Z";
        return null;
    }

    // ISO 8601 with an explicit offset: no locale-dependent forms such as 01/02/2030 (the API's rule for timestamps).
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})\z")]
    private static partial Regex IsoTimestamp();
}
