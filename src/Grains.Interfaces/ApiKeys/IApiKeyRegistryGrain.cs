namespace ApiPlatform.Grains.ApiKeys;

/// <summary>
/// The API keys of one owner (key: owner id), for listing and for the plan's cap on active keys.
/// </summary>
[Alias("IApiKeyRegistryGrain")]
public interface IApiKeyRegistryGrain : IGrainWithStringKey
{
    /// <summary>
    /// Reserves a place for a new key. False when the owner already has <paramref name="maxActive"/> active keys.
    /// </summary>
    [Alias("TryAddAsync")]
    Task<bool> TryAddAsync(string keyId, int maxActive);

    /// <summary>Notes that a key no longer counts towards the cap.</summary>
    [Alias("MarkInactiveAsync")]
    Task MarkInactiveAsync(string keyId);

    /// <summary>Forgets a key whose creation did not complete.</summary>
    [Alias("RemoveAsync")]
    Task RemoveAsync(string keyId);

    /// <summary>All key ids of the owner, newest first.</summary>
    [Alias("ListAsync")]
    Task<IReadOnlyList<string>> ListAsync();
}
