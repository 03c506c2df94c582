namespace ApiPlatform.Grains.ApiKeys;

/// <summary>
/// One API key (key: key id): owner, plan, scopes, expiry, revocation and the SHA-256 hash of its secret.
/// Being the single activation for the key, a revoke or roll is seen by the very next request on any silo.
/// </summary>
[Alias("IApiKeyGrain")]
public interface IApiKeyGrain : IGrainWithStringKey
{
    /// <summary>Creates the key with a fresh secret; null when this id already holds a key.</summary>
    [Alias("CreateAsync")]
    Task<ApiKeyWithSecret?> CreateAsync(NewApiKey request);

    /// <summary>The key, or null when none exists.</summary>
    [Alias("GetAsync")]
    Task<ApiKeyView?> GetAsync();

    /// <summary>Checks a presented secret in constant time.</summary>
    [Alias("VerifyAsync")]
    Task<ApiKeyCheck> VerifyAsync(string secret);

    /// <summary>Revokes the key (idempotent); null when none exists.</summary>
    [Alias("RevokeAsync")]
    Task<ApiKeyView?> RevokeAsync();

    /// <summary>Replaces the secret: the old one stops working at once.</summary>
    [Alias("RollAsync")]
    Task<RollOutcome> RollAsync();
}
