using Orleans.Concurrency;

namespace ApiPlatform.Grains.Resources;

/// <inheritdoc cref="IResourceQueryGrain"/>
[StatelessWorker]
public sealed class ResourceQueryGrain(ResourceStore store) : Grain, IResourceQueryGrain
{
    public Task<ResourcePage> QueryAsync(ResourceQuery query) => store.QueryAsync(query);

    public Task<long> CountAsync(string ownerId) => store.CountAsync(ownerId);
}
