using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Json.Schema;
using Json.Schema.Keywords;

namespace ApiPlatform.Grains.Resources;

/// <summary>
/// JSON Schema (draft 2020-12, JsonSchema.Net) for resource types: checks a schema when a type declares it, and
/// validates metadata against it on every write, with errors keyed by the failing field (<c>metadata.items[0].sku</c>).
/// Compiled schemas are kept per silo, keyed by owner, type and version, so a write does not parse its schema again.
/// </summary>
/// <remarks>
/// Tenants write these schemas, so nothing in them may reach further than the schema itself: each is built with its
/// own registry (no <c>$id</c> of one tenant can be seen by another, and no URI is fetched), only the 2020-12 dialect
/// is accepted (older dialects would bring their own keywords), and <c>pattern</c> / <c>patternProperties</c> run on
/// .NET's non-backtracking engine, whose matching time is linear in the input: a pattern such as <c>^(a+)+$</c>
/// cannot stall a silo. Patterns that engine cannot run (backreferences, lookarounds) are refused with the schema.
/// </remarks>
public sealed class ResourceSchemas
{
    public const string Draft202012 = "https://json-schema.org/draft/2020-12/schema";

    /// <summary>Compiled schemas kept per silo; past this the cache starts over (a schema is rebuilt on its next use).</summary>
    private const int MaxCached = 10_000;

    private static readonly Dialect SafeDialect = Dialect.Draft202012.With([new LinearPatternKeyword(), new LinearPatternPropertiesKeyword()], null, null, null);

    // The meta-schema lives in the library's global registry; tenants' schemas never go there.
    private static readonly Lazy<JsonSchema> MetaSchema = new(() => JsonSchema.FromText($$"""{"$ref": "{{Draft202012}}"}"""));

    private readonly ConcurrentDictionary<(string Owner, string Name, long Version), JsonSchema> _compiled = new();

    static ResourceSchemas()
    {
        // The names of missing properties as a JSON array, so each becomes its own error key.
        ErrorMessages.Required = "[[missing]]";
    }

    /// <summary>Problems of a schema, keyed <c>schema</c> or <c>schema.&lt;path&gt;</c>; null when it is usable.</summary>
    public static IReadOnlyDictionary<string, string[]>? Check(string schemaText)
    {
        var errors = new Dictionary<string, List<string>>();
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(schemaText);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return Errors(("schema", "must be a JSON object"));
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return Errors(("schema", "must be a JSON object"));
        }

        FindForeignDialects(root, "schema", errors);
        if (errors.Count > 0)
        {
            return Freeze(errors);
        }

        var meta = MetaSchema.Value.Evaluate(root, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (!meta.IsValid)
        {
            foreach (var detail in meta.Details ?? [])
            {
                foreach (var (keyword, message) in detail.Errors ?? new Dictionary<string, string>())
                {
                    Add(errors, PathOf("schema", detail.InstanceLocation.ToString(), root), keyword.Length == 0 ? message : $"{message} ({keyword})");
                }
            }

            if (errors.Count == 0)
            {
                Add(errors, "schema", "is not a valid draft 2020-12 JSON Schema");
            }

            return Freeze(errors);
        }

        try
        {
            var schema = Build(schemaText);
            // Some problems (a $ref into nothing) only show when the schema is used.
            schema.Evaluate(JsonDocument.Parse("{}").RootElement);
        }
        catch (Exception e) when (IsSchemaProblem(e))
        {
            Add(errors, "schema", SchemaMessage(e));
        }

        return errors.Count == 0 ? null : Freeze(errors);
    }

    /// <summary>
    /// Problems of <paramref name="metadata"/> under <paramref name="type"/>'s schema, keyed by field path
    /// (<c>metadata</c>, <c>metadata.items[0].sku</c>); null when it passes or the type has no schema.
    /// </summary>
    public IReadOnlyDictionary<string, string[]>? Validate(ResourceTypeView type, string metadata)
    {
        if (type.Schema is null)
        {
            return null;
        }

        var schema = Compiled(type);
        using var document = JsonDocument.Parse(metadata);
        var instance = document.RootElement;
        try
        {
            if (schema.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.Flag }).IsValid)
            {
                return null;
            }

            var results = schema.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
            var errors = new Dictionary<string, List<string>>();
            foreach (var detail in results.Details ?? [])
            {
                foreach (var (keyword, message) in detail.Errors ?? new Dictionary<string, string>())
                {
                    var path = PathOf("metadata", detail.InstanceLocation.ToString(), instance);
                    if (keyword == "required" && TryMissing(message, out var missing))
                    {
                        foreach (var name in missing)
                        {
                            Add(errors, path + "." + name, "is required");
                        }
                    }
                    else if (keyword.Length == 0)
                    {
                        // A false subschema: additionalProperties, unevaluatedProperties or an explicit `false`.
                        Add(errors, path, "is not allowed by the schema");
                    }
                    else
                    {
                        Add(errors, path, $"{message} ({keyword})");
                    }
                }
            }

            if (errors.Count == 0)
            {
                Add(errors, "metadata", $"does not match the schema of type '{type.Name}'");
            }

            return Freeze(errors);
        }
        catch (Exception e) when (IsSchemaProblem(e))
        {
            return Errors(("metadata", $"could not be checked against the schema of type '{type.Name}': {SchemaMessage(e)}"));
        }
    }

    private JsonSchema Compiled(ResourceTypeView type)
    {
        var key = (type.OwnerId, type.Name, type.Version);
        if (_compiled.TryGetValue(key, out var schema))
        {
            return schema;
        }

        if (_compiled.Count >= MaxCached)
        {
            _compiled.Clear();
        }

        schema = Build(type.Schema!);
        _compiled[key] = schema;
        return schema;
    }

    private static JsonSchema Build(string text) =>
        JsonSchema.FromText(text, new BuildOptions { SchemaRegistry = new SchemaRegistry(), Dialect = SafeDialect });

    private static bool IsSchemaProblem(Exception e) =>
        e is JsonSchemaException or RefResolutionException or JsonException or ArgumentException or NotSupportedException
            or InvalidOperationException or FormatException or KeyNotFoundException or RegexMatchTimeoutException;

    private static string SchemaMessage(Exception e) => e switch
    {
        NotSupportedException => "uses a regular expression feature that is not supported (backreferences and lookarounds): " + e.Message,
        RefResolutionException => e.Message + " (only references within the schema itself are resolved)",
        _ => e.Message,
    };

    /// <summary><c>$schema</c> anywhere in the schema must name draft 2020-12: other dialects are not offered.</summary>
    private static void FindForeignDialects(JsonElement element, string path, Dictionary<string, List<string>> errors)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    var child = path + "." + property.Name;
                    if (property.Name == "$schema" && property.Value.ValueKind == JsonValueKind.String
                        && property.Value.GetString()!.TrimEnd('#') != Draft202012)
                    {
                        Add(errors, child, $"must be {Draft202012} (the only dialect offered)");
                    }

                    FindForeignDialects(property.Value, child, errors);
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    FindForeignDialects(item, path + "[" + (i++).ToString(CultureInfo.InvariantCulture) + "]", errors);
                }

                break;
        }
    }

    /// <summary>A JSON pointer into <paramref name="instance"/> as a field path: <c>/items/0/sku</c> → <c>metadata.items[0].sku</c>.</summary>
    private static string PathOf(string root, string pointer, JsonElement instance)
    {
        var path = new StringBuilder(root);
        var current = instance;
        var defined = true;
        foreach (var raw in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var segment = raw.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (defined && current.ValueKind == JsonValueKind.Array && int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                path.Append('[').Append(segment).Append(']');
                defined = index < current.GetArrayLength();
                if (defined)
                {
                    current = current[index];
                }
            }
            else
            {
                path.Append('.').Append(segment);
                defined = defined && current.ValueKind == JsonValueKind.Object && current.TryGetProperty(segment, out current);
            }
        }

        return path.ToString();
    }

    private static bool TryMissing(string message, out string[] missing)
    {
        try
        {
            missing = JsonSerializer.Deserialize<string[]>(message) ?? [];
            return missing.Length > 0;
        }
        catch (JsonException)
        {
            missing = [];
            return false;
        }
    }

    private static void Add(Dictionary<string, List<string>> errors, string key, string message)
    {
        if (!errors.TryGetValue(key, out var list))
        {
            errors[key] = list = [];
        }

        if (!list.Contains(message))
        {
            list.Add(message);
        }
    }

    private static IReadOnlyDictionary<string, string[]> Errors(params (string Key, string Message)[] errors) =>
        errors.ToDictionary(e => e.Key, e => new[] { e.Message });

    private static IReadOnlyDictionary<string, string[]> Freeze(Dictionary<string, List<string>> errors) =>
        errors.ToDictionary(e => e.Key, e => e.Value.ToArray());

    /// <summary><c>pattern</c> on the non-backtracking engine: matching time linear in the input.</summary>
    private sealed class LinearPatternKeyword : PatternKeyword
    {
        public override object ValidateKeywordValue(JsonElement value)
        {
            base.ValidateKeywordValue(value);
            return Linear(value.GetString()!);
        }
    }

    /// <summary><c>patternProperties</c> on the non-backtracking engine.</summary>
    private sealed class LinearPatternPropertiesKeyword : PatternPropertiesKeyword
    {
        public override object ValidateKeywordValue(JsonElement value)
        {
            base.ValidateKeywordValue(value);
            return value.EnumerateObject().ToDictionary(p => p.Name, p => Linear(p.Name));
        }
    }

    private static Regex Linear(string pattern) => new(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
}
