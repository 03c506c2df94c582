namespace ApiPlatform.Grains.ApiKeys;

/// <summary>Persisted state of <see cref="ApiKeyRegistryGrain"/>.</summary>
[GenerateSerializer]
public sealed class ApiKeyRegistryState
{
    /// <summary>Key ids, oldest first, with whether each still counts as active.</summary>
    [Id(0)] public List<ApiKeyEntry> Keys { get; set; } = [];
}

/// <summary>One key of an owner.</summary>
[GenerateSerializer]
public sealed class ApiKeyEntry
{
    [Id(0)] public string Id { get; set; } = "";
    [Id(1)] public bool Active { get; set; } = true;
}

/// <inheritdoc cref="IApiKeyRegistryGrain"/>
public sealed class ApiKeyRegistryGrain(
    [PersistentState("apikeys", GrainStorage.Main)] IPersistentState<ApiKeyRegistryState> state,
    IGrainFactory grains) : Grain, IApiKeyRegistryGrain
{
    public async Task<bool> TryAddAsync(string keyId, int maxActive)
    {
        var keys = state.State.Keys;
        if (keys.Any(k => k.Id == keyId))
        {
            return true;
        }

        if (keys.Count(k => k.Active) >= maxActive)
        {
            // The active flags can lag (a key expired, or a revoke crashed before telling us), so before refusing,
            // ask the keys themselves. This runs only at the cap, and the cap is small.
            foreach (var entry in keys.Where(k => k.Active).ToList())
            {
                var view = await grains.GetGrain<IApiKeyGrain>(entry.Id).GetAsync();
                entry.Active = view?.Status == ApiKeyStatus.Active;
            }

            if (keys.Count(k => k.Active) >= maxActive)
            {
                await state.WriteStateAsync();
                return false;
            }
        }

        keys.Add(new ApiKeyEntry { Id = keyId });
        await state.WriteStateAsync();
        return true;
    }

    public async Task MarkInactiveAsync(string keyId)
    {
        var entry = state.State.Keys.Find(k => k.Id == keyId);
        if (entry is { Active: true })
        {
            entry.Active = false;
            await state.WriteStateAsync();
        }
    }

    public async Task RemoveAsync(string keyId)
    {
        if (state.State.Keys.RemoveAll(k => k.Id == keyId) > 0)
        {
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() =>
        Task.FromResult<IReadOnlyList<string>>(state.State.Keys.Select(k => k.Id).Reverse().ToList());
}
