namespace ApiPlatform.Grains.ApiKeys;

/// <summary>
/// One API key (key: key id): owner, plan, scopes, expiry, revocation and the SHA-256 hash of its secret.
/// Being the single activation for the key, a revoke or roll is seen by the very next request on any silo: silos
/// that keep a valid verification in memory are holders (<see cref="IApiKeyHolder"/>), and the grain makes each of
/// them forget the key before a revoke or roll returns, and before the activation goes away.
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

    /// <summary>
    /// Checks a presented secret in constant time. A valid answer registers <paramref name="holder"/> (when given):
    /// it will be told to forget the key before the key changes.
    /// </summary>
    [Alias("VerifyAsync")]
    Task<ApiKeyCheckOutcome> VerifyAsync(string secret, IApiKeyHolder? holder);

    /// <summary>Revokes the key (idempotent); null when none exists.</summary>
    [Alias("RevokeAsync")]
    Task<ApiKeyView?> RevokeAsync();

    /// <summary>Replaces the secret: the old one stops working at once.</summary>
    [Alias("RollAsync")]
    Task<ApiKeyRollOutcome> RollAsync();
}

/// <summary>A silo's memory of valid API-key verifications, told by the key's grain when to forget one.</summary>
[Alias("IApiKeyHolder")]
public interface IApiKeyHolder : IGrainObserver
{
    /// <summary>Drops what is kept about <paramref name="keyId"/>; the next request asks the key's grain again.</summary>
    [Alias("ForgetAsync")]
    Task ForgetAsync(string keyId);
}
