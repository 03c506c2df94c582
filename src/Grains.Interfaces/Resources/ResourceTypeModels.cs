namespace ApiPlatform.Grains.Resources;

/// <summary>The value types an indexed metadata field may declare.</summary>
public static class IndexedFieldTypes
{
    public const string String = "string";
    public const string Number = "number";
    public const string Boolean = "boolean";
    public const string Timestamp = "timestamp";

    public static readonly IReadOnlyList<string> All = [String, Number, Boolean, Timestamp];

    public static bool IsValid(string? type) => type is String or Number or Boolean or Timestamp;
}

/// <summary>Limits of resource types that both the gateway (parsing) and the grains (storage) rely on.</summary>
public static class ResourceTypeRules
{
    /// <summary>Indexed fields per type: one per index slot column of <c>resources</c>.</summary>
    public const int MaxIndexes = 5;

    public const int MaxNameLength = 64;

    /// <summary>
    /// A declarable type name: it appears in URLs (<c>/v1/resource-types/{name}</c>), so letters, digits, '.', '_' and
    /// '-', starting with a letter or digit. Resources may still carry other type texts; those stay undeclared.
    /// </summary>
    public static bool IsValidName(string name) =>
        name.Length is >= 1 and <= MaxNameLength && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>An indexable metadata field: a top-level key of letters, digits, '_' and '-', not starting with a digit or '-'.</summary>
    public static bool IsValidFieldName(string field) =>
        field.Length is >= 1 and <= 64 && (char.IsAsciiLetter(field[0]) || field[0] == '_')
        && field.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    /// <summary>
    /// The grain key of a type: owner and name. Owner ids never contain '/', so the key is unambiguous even for the free
    /// text of an undeclared type's name.
    /// </summary>
    public static string Key(string ownerId, string name) => ownerId + "/" + name;
}

/// <summary>An indexed field as asked for: a top-level metadata key and its value type.</summary>
[GenerateSerializer, Immutable, Alias("index-spec.v1")]
public sealed record IndexSpec(
    [property: Id(0)] string Field,
    [property: Id(1)] string Type);

/// <summary>
/// An indexed field as stored: its slot (0-4, the <c>resources.ix1..ix5</c> column that holds its values) and the
/// index generation that introduced it. The field can be queried once every resource of the type has been indexed
/// for that generation (<see cref="ResourceTypeView.BuiltGen"/> ≥ <see cref="SinceGen"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("indexed-field.v1")]
public sealed record IndexedField(
    [property: Id(0)] string Field,
    [property: Id(1)] string Type,
    [property: Id(2)] int Slot,
    [property: Id(3)] long SinceGen);

/// <summary>
/// A declared resource type of one owner. <see cref="Schema"/> is a JSON Schema's text (or null: any object);
/// <see cref="MaxBytes"/> null means the configured default. <see cref="Version"/> moves with every change, which
/// every resource write checks in its own transaction; <see cref="IndexGen"/> moves only when the indexes change.
/// </summary>
[GenerateSerializer, Immutable, Alias("resource-type.v1")]
public sealed record ResourceTypeView(
    [property: Id(0)] string OwnerId,
    [property: Id(1)] string Name,
    [property: Id(2)] string? Schema,
    [property: Id(3)] int? MaxBytes,
    [property: Id(4)] IReadOnlyList<IndexedField> Indexes,
    [property: Id(5)] bool RequireIfMatch,
    [property: Id(6)] long IndexGen,
    [property: Id(7)] long BuiltGen,
    [property: Id(8)] DateTimeOffset CreatedAt,
    [property: Id(9)] DateTimeOffset UpdatedAt,
    [property: Id(10)] long Version)
{
    /// <summary>Whether every resource of the type holds this field's index value.</summary>
    public bool IsReady(IndexedField field) => field.SinceGen <= BuiltGen;
}

/// <summary>A new type, shape-checked by the gateway; the grain checks the schema itself.</summary>
[GenerateSerializer, Immutable, Alias("resource-type-draft.v1")]
public sealed record ResourceTypeDraft(
    [property: Id(0)] string? Schema,
    [property: Id(1)] int? MaxBytes,
    [property: Id(2)] IReadOnlyList<IndexSpec> Indexes,
    [property: Id(3)] bool RequireIfMatch);

/// <summary>
/// A change to a type: each <c>Set…</c> flag says the field was named (so null can clear <see cref="Schema"/> and
/// reset <see cref="MaxBytes"/> to the default); <see cref="Indexes"/> replaces the list when not null.
/// </summary>
[GenerateSerializer, Immutable, Alias("resource-type-patch.v1")]
public sealed record ResourceTypePatch(
    [property: Id(0)] bool SetSchema,
    [property: Id(1)] string? Schema,
    [property: Id(2)] bool SetMaxBytes,
    [property: Id(3)] int? MaxBytes,
    [property: Id(4)] IReadOnlyList<IndexSpec>? Indexes,
    [property: Id(5)] bool? RequireIfMatch);

/// <summary>What a change to a type came to.</summary>
[GenerateSerializer]
public enum ResourceTypeStatus
{
    Done,
    NotFound,
    AlreadyExists,
    PlanLimitReached,
    Invalid,
    InUse,
}

/// <summary>
/// Outcome of a type change: the type as it now is, the invalid fields (<see cref="ResourceTypeStatus.Invalid"/>), or
/// how many resources still use it (<see cref="ResourceTypeStatus.InUse"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("resource-type-outcome.v1")]
public sealed record ResourceTypeOutcome(
    [property: Id(0)] ResourceTypeStatus Status,
    [property: Id(1)] ResourceTypeView? Type = null,
    [property: Id(2)] IReadOnlyDictionary<string, string[]>? Errors = null,
    [property: Id(3)] long InUse = 0);

/// <summary>A page of an owner's types, by name, with the exact total.</summary>
[GenerateSerializer, Immutable, Alias("resource-type-list.v1")]
public sealed record ResourceTypeList(
    [property: Id(0)] IReadOnlyList<ResourceTypeView> Items,
    [property: Id(1)] long Total);
