using Orleans.Concurrency;

namespace ApiPlatform.Grains.Resources;

/// <inheritdoc cref="IResourceQueryGrain"/>
// Reentrant: the queries are pure I/O, so one activation serves many at once instead of capping a silo at
// one query per core (the stateless-worker default).
[StatelessWorker]
[Reentrant]
public sealed class ResourceQueryGrain(ResourceStore store) : Grain, IResourceQueryGrain
{
    public Task<ResourcePage> QueryAsync(ResourceQuery query) => store.QueryAsync(query);

    public Task<long> CountAsync(string ownerId) => store.CountAsync(ownerId);
}
