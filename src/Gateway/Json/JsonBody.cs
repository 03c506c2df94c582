using System.Text.Json;
using ApiPlatform.Gateway.Errors;
using Microsoft.Net.Http.Headers;

namespace ApiPlatform.Gateway.Json;

/// <summary>
/// Reads a request body as a JSON object, refusing wrong media types (415), empty or malformed bodies (400) and
/// non-object roots (400). The size limit is enforced earlier, before any of this runs.
/// </summary>
public static class JsonBody
{
    public static async Task<BodyReader> ReadAsync(HttpRequest request)
    {
        if (!IsJson(request.ContentType))
        {
            throw new ApiException(StatusCodes.Status415UnsupportedMediaType, ProblemCodes.UnsupportedMediaType,
                $"Content-Type must be application/json; got '{(string.IsNullOrEmpty(request.ContentType) ? "none" : request.ContentType)}'.");
        }

        // Buffered (the size limit already bounds it) so that Idempotency-Key can hash the exact bytes.
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        var raw = buffer.ToArray();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(raw, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" at line {line + 1}, position {e.BytePositionInLine + 1}" : "";
            throw ApiException.BadRequest(raw.Length == 0
                ? "The request body must be a JSON object."
                : $"The request body is not valid JSON{where}.");
        }

        request.HttpContext.Response.RegisterForDispose(document);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.BadRequest("The request body must be a JSON object.");
        }

        if (Ambiguity(document.RootElement, "") is { } problem)
        {
            throw ApiException.Invalid(problem.Path, problem.Message);
        }

        return new BodyReader(document.RootElement) { Raw = raw };
    }

    /// <summary>
    /// JSON that parses but has no single meaning: a name that appears twice in one object (RFC 8259 leaves the result
    /// to each reader, and a merge patch could not apply it), or a string or name with an unpaired surrogate escape
    /// such as <c>"\ud800"</c> (valid JSON syntax, but no Unicode text). Null when there is none; otherwise the path of
    /// the first one (<c>metadata.tags[2]</c>) and what is wrong there.
    /// </summary>
    public static (string Path, string Message)? Ambiguity(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                HashSet<string>? seen = null;
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return (path.Length == 0 ? "body" : path, "has a property name with an unpaired UTF-16 surrogate escape");
                    }

                    var child = path.Length == 0 ? name : path + "." + name;
                    if (!(seen ??= new HashSet<string>(StringComparer.Ordinal)).Add(name))
                    {
                        return (child, "appears more than once in the same object");
                    }

                    if (Ambiguity(property.Value, child) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (Ambiguity(item, $"{(path.Length == 0 ? "body" : path)}[{index++}]") is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.String:
                try
                {
                    _ = element.GetString();
                    return null;
                }
                catch (InvalidOperationException)
                {
                    return (path, "contains an unpaired UTF-16 surrogate escape (such as \\ud800), which is not text");
                }

            default:
                return null;
        }
    }

    /// <summary>True for <c>application/json</c> and <c>application/*+json</c>, with any UTF-8 or no charset.</summary>
    public static bool IsJson(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            return false;
        }

        var type = media.MediaType.Value ?? "";
        var charset = HeaderUtilities.RemoveQuotes(media.Charset).Value;
        var jsonType = type.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (type.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && type.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
        return jsonType && (charset is null || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));
    }
}

/// <summary>
/// Typed, validating access to the fields of a JSON object. Collects every problem, then
/// <see cref="ThrowIfInvalid"/> answers 400 naming each field. Absent and null are told apart, which PATCH needs.
/// </summary>
public sealed partial class BodyReader(JsonElement root, string prefix = "", Dictionary<string, List<string>>? errors = null)
{
    private readonly Dictionary<string, List<string>> _errors = errors ?? [];

    public JsonElement Root { get; } = root;

    /// <summary>The body's bytes as received (top-level reader only).</summary>
    public byte[] Raw { get; init; } = [];

    public bool Has(string name) => Root.TryGetProperty(name, out _);

    public bool IsNull(string name) => Root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Null;

    public void AddError(string name, string message)
    {
        var key = prefix + name;
        if (!_errors.TryGetValue(key, out var list))
        {
            _errors[key] = list = [];
        }

        list.Add(message);
    }

    /// <summary>A string field; null when absent (an error when <paramref name="required"/>) or explicitly null.</summary>
    public string? String(string name, bool required = false, int minLength = 0, int maxLength = 10_000, bool trim = true)
    {
        if (!Root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                AddError(name, "is required");
            }

            return null;
        }

        if (v.ValueKind != JsonValueKind.String)
        {
            AddError(name, "must be a string");
            return null;
        }

        var s = v.GetString()!;
        if (trim)
        {
            s = s.Trim();
        }

        if (s.Length < minLength)
        {
            AddError(name, minLength == 1 ? "must not be empty" : $"must be at least {minLength} characters");
            return null;
        }

        if (s.Length > maxLength)
        {
            AddError(name, $"must be at most {maxLength} characters");
            return null;
        }

        if (s.Any(char.IsControl))
        {
            AddError(name, "must not contain control characters");
            return null;
        }

        return s;
    }

    /// <summary>A boolean field; null when absent (an error when <paramref name="required"/>) or explicitly null.</summary>
    public bool? Boolean(string name, bool required = false)
    {
        if (!Root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                AddError(name, "is required");
            }

            return null;
        }

        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            AddError(name, "must be true or false");
            return null;
        }

        return v.GetBoolean();
    }

    /// <summary>
    /// A nested object field, read with the same rules; null when absent or null. Anything but an object is an error
    /// that says <paramref name="mustBe"/>.
    /// </summary>
    public BodyReader? Object(string name, string mustBe = "must be an object")
    {
        if (!Root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Object)
        {
            AddError(name, mustBe);
            return null;
        }

        return new BodyReader(v, prefix + name + ".", _errors);
    }

    /// <summary>An array of strings; null when absent.</summary>
    public IReadOnlyList<string>? StringArray(string name, int maxItems = 100)
    {
        if (!Root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
        {
            AddError(name, "must be an array of strings");
            return null;
        }

        if (v.GetArrayLength() > maxItems)
        {
            AddError(name, $"must have at most {maxItems} items");
            return null;
        }

        return v.EnumerateArray().Select(e => e.GetString()!).ToList();
    }

    /// <summary>An ISO 8601 timestamp with an offset; null when absent.</summary>
    public DateTimeOffset? Timestamp(string name)
    {
        var s = String(name);
        if (s is null)
        {
            return null;
        }

        if (!IsoTimestamp().IsMatch(s)
            || !DateTimeOffset.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var value))
        {
            AddError(name, "must be an ISO 8601 timestamp such as 2030-01-15T10:00:00Z");
            return null;
        }

        return value.ToUniversalTime();
    }

    // ISO 8601 with an explicit offset: no locale-dependent forms such as 01/02/2030.
    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})\z")]
    private static partial System.Text.RegularExpressions.Regex IsoTimestamp();

    /// <summary>Answers 400 listing every problem found so far.</summary>
    public void ThrowIfInvalid()
    {
        if (_errors.Count == 0)
        {
            return;
        }

        var detail = "Validation failed: " + string.Join("; ", _errors.Select(e => $"'{e.Key}' {e.Value[0]}")) + ".";
        throw ApiException.BadRequest(detail, _errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));
    }
}
