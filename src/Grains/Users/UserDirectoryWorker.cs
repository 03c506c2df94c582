using ApiPlatform.Grains.Organizations;
using Orleans.Concurrency;

namespace ApiPlatform.Grains.Users;

/// <inheritdoc cref="IUserDirectoryWorker"/>
// Reentrant: the queries are pure I/O, so one activation serves many at once instead of capping a silo at
// one query per core (the stateless-worker default).
[StatelessWorker]
[Reentrant]
public sealed class UserDirectoryWorker(UserDirectoryStore users) : Grain, IUserDirectoryWorker
{
    public async Task<Page<UserView>> QueryUsersAsync(DirectoryQuery query)
    {
        var (items, total) = await users.QueryAsync(query);
        return new Page<UserView>(items, total);
    }

    public Task<bool> ShareAnOrganizationAsync(string userId, string otherId) => users.ShareAnOrganizationAsync(userId, otherId);
}
