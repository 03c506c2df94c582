using Orleans.Concurrency;

namespace ApiPlatform.Grains.Organizations;

/// <inheritdoc cref="IOrganizationDirectoryWorker"/>
// Reentrant: the queries are pure I/O, so one activation serves many at once instead of capping a silo at
// one query per core (the stateless-worker default).
[StatelessWorker]
[Reentrant]
public sealed class OrganizationDirectoryWorker(OrganizationStore organizations) : Grain, IOrganizationDirectoryWorker
{
    public Task<long> CountOwnedOrganizationsAsync(string userId) => organizations.CountOwnedAsync(userId);

    public async Task<Page<UserOrganization>> ListOrganizationsAsync(string userId, int offset, int limit)
    {
        var (items, total) = await organizations.ListForUserAsync(userId, offset, limit);
        return new Page<UserOrganization>(items, total);
    }
}
