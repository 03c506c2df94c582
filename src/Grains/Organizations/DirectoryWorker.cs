using ApiPlatform.Grains.Users;
using Orleans.Concurrency;

namespace ApiPlatform.Grains.Organizations;

/// <inheritdoc cref="IDirectoryWorker"/>
// Reentrant: the queries are pure I/O, so one activation serves many at once instead of capping a silo at
// one query per core (the stateless-worker default).
[StatelessWorker]
[Reentrant]
public sealed class DirectoryWorker(UserDirectoryStore users, OrganizationStore organizations) : Grain, IDirectoryWorker
{
    public async Task<Page<UserView>> QueryUsersAsync(DirectoryQuery query)
    {
        var (items, total) = await users.QueryAsync(query);
        return new Page<UserView>(items, total);
    }

    public Task<bool> ShareAnOrganizationAsync(string userId, string otherId) => users.ShareAnOrganizationAsync(userId, otherId);

    public Task<long> CountOwnedOrganizationsAsync(string userId) => organizations.CountOwnedAsync(userId);

    public async Task<Page<UserOrganization>> ListOrganizationsAsync(string userId, int offset, int limit)
    {
        var (items, total) = await organizations.ListForUserAsync(userId, offset, limit);
        return new Page<UserOrganization>(items, total);
    }
}
