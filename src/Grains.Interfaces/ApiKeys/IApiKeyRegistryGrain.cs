namespace ApiPlatform.Grains.ApiKeys;

/// <summary>
/// The API keys of one owner (key: owner id): creating within the plan's cap on active keys, revoking (with the keys
/// a revoked key made), and listing. Its state holds the owner's active keys only, so it stays as small as the cap;
/// every key, revoked ones included, is a row of <c>api_keys</c> for listing.
/// </summary>
[Alias("IApiKeyRegistryGrain")]
public interface IApiKeyRegistryGrain : IGrainWithStringKey
{
    /// <summary>
    /// Creates key <paramref name="keyId"/> unless the owner already has <paramref name="maxActive"/> active keys (or
    /// was deleted). Creates of one owner are serialized here, so the cap holds under any concurrency.
    /// If the id holds this owner's key already (a retried create whose answer was lost), the key gets a new secret
    /// and is answered as created: nobody saw the first secret.
    /// </summary>
    [Alias("CreateAsync")]
    Task<ApiKeyCreateOutcome> CreateAsync(string keyId, NewApiKey request, int maxActive);

    /// <summary>
    /// Revokes the owner's key (idempotent) and every key it made, directly or through others. Null when the owner has
    /// no such key.
    /// </summary>
    [Alias("RevokeAsync")]
    Task<ApiKeyView?> RevokeAsync(string keyId);

    /// <summary>
    /// Revokes every key of the owner and refuses new ones (<see cref="ApiKeyCreateStatus.OwnerDeleted"/>): its
    /// organization is being deleted. Idempotent.
    /// </summary>
    [Alias("CloseAsync")]
    Task CloseAsync();

    /// <summary>Accepts keys again after <see cref="CloseAsync"/>: an organization was created under the same id.</summary>
    [Alias("ReopenAsync")]
    Task ReopenAsync();

    /// <summary>How many keys count towards the cap now: neither revoked nor expired.</summary>
    [Alias("CountActiveAsync")]
    Task<int> CountActiveAsync();

    /// <summary>A page of the owner's keys (revoked and expired ones too), newest first.</summary>
    [Alias("ListAsync")]
    Task<ApiKeyPage> ListAsync(int offset, int limit);
}
