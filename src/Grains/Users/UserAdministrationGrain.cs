namespace ApiPlatform.Grains.Users;

/// <inheritdoc cref="IUserAdministrationGrain"/>
/// <remarks>
/// Not reentrant, and one activation for the cluster: two changes never interleave, so the check "another active
/// administrator remains" and the change it allows happen as one step. The user grains are the truth about who is an
/// active administrator; the directory only finds the candidates (there are few), and each is asked.
/// </remarks>
public sealed class UserAdministrationGrain(UserDirectoryStore directory) : Grain, IUserAdministrationGrain
{
    public async Task<AccountChangeOutcome> ChangeAsync(string actorId, string userId, AccountChange change)
    {
        // Why a grain calls grains here: each account's grain owns its role and flag; this one only orders changes.
        if (!IsActiveAdministrator(await User(actorId).GetAccessAsync(null)))
        {
            return new AccountChangeOutcome(AccountChangeStatus.Forbidden);
        }

        var target = User(userId);
        var current = await target.GetAccessAsync(null);
        if (!current.Exists)
        {
            return new AccountChangeOutcome(AccountChangeStatus.NotFound);
        }

        var losesAdministration = IsActiveAdministrator(current)
            && ((change.Role is { } role && role != SystemRoles.Admin) || change.Disabled == true);
        if (losesAdministration && !await AnotherActiveAdministratorAsync(userId))
        {
            return new AccountChangeOutcome(AccountChangeStatus.LastAdministrator);
        }

        var view = await target.ApplyChangeAsync(change);
        return view is null ? new AccountChangeOutcome(AccountChangeStatus.NotFound) : new AccountChangeOutcome(AccountChangeStatus.Done, view);
    }

    private async Task<bool> AnotherActiveAdministratorAsync(string exceptUserId)
    {
        foreach (var id in await directory.AdministratorIdsAsync())
        {
            if (id != exceptUserId && IsActiveAdministrator(await User(id).GetAccessAsync(null)))
            {
                return true;
            }
        }

        return false;
    }

    private IUserGrain User(string id) => GrainFactory.GetGrain<IUserGrain>(id);

    private static bool IsActiveAdministrator(AccountAccess access) => access is { Exists: true, Role: SystemRoles.Admin, Disabled: false };
}
