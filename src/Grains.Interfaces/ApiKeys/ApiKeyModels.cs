namespace ApiPlatform.Grains.ApiKeys;

/// <summary>
/// Scopes an API key can carry: <c>read</c> (GET and HEAD), <c>write</c> (every other method) and <c>keys</c>
/// (managing API keys at all, on top of read or write). A key created without scopes gets <see cref="Default"/>;
/// access tokens hold <see cref="All"/>.
/// </summary>
public static class ApiKeyScopes
{
    public const string Read = "read";
    public const string Write = "write";
    public const string Keys = "keys";

    public static readonly IReadOnlyList<string> All = [Keys, Read, Write];

    /// <summary>What a key gets when none are named: reading and writing, not managing keys.</summary>
    public static readonly IReadOnlyList<string> Default = [Read, Write];

    public static bool IsValid(string? scope) => scope is Read or Write or Keys;
}

/// <summary>Lifecycle of an API key as shown to callers.</summary>
public static class ApiKeyStatus
{
    public const string Active = "active";
    public const string Expired = "expired";
    public const string Revoked = "revoked";
}

/// <summary>
/// API key secrets are <c>sk_{key id suffix}_{secret}</c>: the visible <c>sk_</c> prefix tells them apart from JWTs,
/// and the embedded id finds the key's grain without an index lookup. Only a hash of the secret is stored.
/// </summary>
public static class ApiKeyTokens
{
    public const string Prefix = "sk_";
    public const int SecretLength = 40;

    public static string Create(string keyId, string secret) => Prefix + Ids.Suffix(keyId) + "_" + secret;

    /// <summary>True when the credential is shaped like an API key (so it is never tried as a JWT).</summary>
    public static bool LooksLikeApiKey(string credential) => credential.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Splits a presented key into key id and secret; false when it is malformed.</summary>
    public static bool TryParse(string? token, out string keyId, out string secret)
    {
        keyId = secret = "";
        if (token is null || !token.StartsWith(Prefix, StringComparison.Ordinal) || token.Length > 200)
        {
            return false;
        }

        var rest = token[Prefix.Length..];
        var sep = rest.IndexOf('_');
        if (sep <= 0 || sep == rest.Length - 1)
        {
            return false;
        }

        keyId = Ids.ApiKey + "_" + rest[..sep];
        secret = rest[(sep + 1)..];
        return Ids.IsValid(keyId, Ids.ApiKey);
    }
}

/// <summary>
/// What the gateway asks for when creating a key. <see cref="CreatedBy"/> is the user on whose authority the key is
/// made (for a key made by a key, that key's creator); <see cref="CreatedByKey"/> the key that made it, if one did.
/// <see cref="Plan"/> is null for a key that follows its owner's plan, or the plan an administrator pinned.
/// </summary>
[GenerateSerializer, Immutable, Alias("new-api-key.v1")]
public sealed record NewApiKey(
    [property: Id(0)] string OwnerId,
    [property: Id(1)] string CreatedBy,
    [property: Id(2)] string Name,
    [property: Id(3)] string? Plan,
    [property: Id(4)] IReadOnlyList<string> Scopes,
    [property: Id(5)] DateTimeOffset? ExpiresAt,
    [property: Id(6)] string? CreatedByKey = null);

/// <summary>
/// An API key as listed: never the secret, only its prefix and last four characters. <see cref="Plan"/> is the pinned
/// plan, or empty for a key that follows its owner's plan (the gateway shows the owner's).
/// </summary>
[GenerateSerializer, Immutable, Alias("api-key-view.v1")]
public sealed record ApiKeyView(
    [property: Id(0)] string Id,
    [property: Id(1)] string OwnerId,
    [property: Id(2)] string Name,
    [property: Id(3)] string Prefix,
    [property: Id(4)] string LastFour,
    [property: Id(5)] string Plan,
    [property: Id(6)] IReadOnlyList<string> Scopes,
    [property: Id(7)] DateTimeOffset? ExpiresAt,
    [property: Id(8)] string Status,
    [property: Id(9)] DateTimeOffset CreatedAt,
    [property: Id(10)] DateTimeOffset? RolledAt,
    [property: Id(11)] DateTimeOffset? RevokedAt,
    [property: Id(12)] string CreatedBy,
    [property: Id(13)] string? CreatedByKey = null);

/// <summary>A key together with its full secret: returned once, at creation or roll.</summary>
[GenerateSerializer, Immutable, Alias("api-key-secret.v1")]
public sealed record ApiKeyWithSecret(
    [property: Id(0)] ApiKeyView Key,
    [property: Id(1)] string Secret);

/// <summary>What checking a presented secret came to.</summary>
[GenerateSerializer]
public enum ApiKeyCheckStatus
{
    Valid,

    /// <summary>The key exists but the secret does not match it.</summary>
    Unknown,
    Expired,
    Revoked,

    /// <summary>No key has this id (a made-up key): the caller may remember that briefly.</summary>
    Missing,
}

/// <summary>
/// Who a valid key acts for and with what rights, and until when (<see cref="ExpiresAt"/>, null: no expiry).
/// <see cref="Plan"/> is null when the key follows its owner's plan; <see cref="CreatedBy"/> is the user whose
/// authority the key carries (it acts only while that user may).
/// </summary>
[GenerateSerializer, Immutable, Alias("api-key-check.v1")]
public sealed record ApiKeyCheckOutcome(
    [property: Id(0)] ApiKeyCheckStatus Status,
    [property: Id(1)] string? OwnerId,
    [property: Id(2)] string? Plan,
    [property: Id(3)] IReadOnlyList<string> Scopes,
    [property: Id(4)] DateTimeOffset? ExpiresAt = null,
    [property: Id(5)] string? CreatedBy = null)
{
    public static ApiKeyCheckOutcome Of(ApiKeyCheckStatus status) => new(status, null, null, []);
}

/// <summary>What rolling a key came to.</summary>
[GenerateSerializer, Alias("RollStatus")]
public enum ApiKeyRollStatus
{
    Rolled,
    NotFound,
    Revoked,
}

/// <summary>Outcome of <see cref="IApiKeyGrain.RollAsync"/>.</summary>
[GenerateSerializer, Immutable, Alias("roll-outcome.v1")]
public sealed record ApiKeyRollOutcome(
    [property: Id(0)] ApiKeyRollStatus Status,
    [property: Id(1)] ApiKeyWithSecret? Key);

/// <summary>What creating a key through its owner's registry came to.</summary>
[GenerateSerializer]
public enum ApiKeyCreateStatus
{
    Created,
    /// <summary>The owner holds as many active keys as the plan allows.</summary>
    PlanLimitReached,
    /// <summary>The owner (an organization) was deleted.</summary>
    OwnerDeleted,
}

/// <summary>Outcome of <see cref="IApiKeyRegistryGrain.CreateAsync"/>.</summary>
[GenerateSerializer, Immutable, Alias("api-key-create-outcome.v1")]
public sealed record ApiKeyCreateOutcome(
    [property: Id(0)] ApiKeyCreateStatus Status,
    [property: Id(1)] ApiKeyWithSecret? Key);

/// <summary>A page of an owner's keys, newest first, with the exact total.</summary>
[GenerateSerializer, Immutable, Alias("api-key-page.v1")]
public sealed record ApiKeyPage(
    [property: Id(0)] IReadOnlyList<ApiKeyView> Items,
    [property: Id(1)] long Total);
