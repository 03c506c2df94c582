namespace ApiPlatform.Grains.Users;

/// <summary>
/// What the request path needs to know about an account (a user or an organization) on every request: whether it
/// exists, its plan, and for a user its system role, whether it is disabled and whether its email is verified; for an
/// organization, who may act for it with admin rights (admins and owners: their keys work only while they are one).
/// Kept per silo (<see cref="IAccountHolder"/>); the account's grain makes every holder forget it before a change of
/// any of these answers.
/// </summary>
[GenerateSerializer, Immutable, Alias("account-access.v1")]
public sealed record AccountAccess(
    [property: Id(0)] bool Exists,
    [property: Id(1)] string Plan,
    [property: Id(2)] string? Role = null,
    [property: Id(3)] bool Disabled = false,
    [property: Id(4)] bool EmailVerified = false,
    [property: Id(5)] IReadOnlyList<string>? Administrators = null)
{
    public static AccountAccess Missing { get; } = new(false, "");

    /// <summary>True when <paramref name="userId"/> is an admin or owner of this organization.</summary>
    public bool IsAdministrator(string userId) => Administrators?.Contains(userId) == true;
}

/// <summary>A silo's memory of accounts, told by the account's grain when to forget one.</summary>
[Alias("IAccountHolder")]
public interface IAccountHolder : IGrainObserver
{
    /// <summary>Drops what is kept about <paramref name="accountId"/>; the next request asks the account's grain again.</summary>
    [Alias("ForgetAsync")]
    Task ForgetAsync(string accountId);
}

/// <summary>An administrator's change to an account; null fields stay as they are.</summary>
[GenerateSerializer, Immutable, Alias("account-change.v1")]
public sealed record AccountChange(
    [property: Id(0)] string? Role,
    [property: Id(1)] string? Plan,
    [property: Id(2)] bool? Disabled);

/// <summary>What an administrator's change came to.</summary>
[GenerateSerializer]
public enum AccountChangeStatus
{
    Done,
    /// <summary>No such user.</summary>
    NotFound,
    /// <summary>The actor is not an active administrator.</summary>
    Forbidden,
    /// <summary>It would leave the system without an active administrator.</summary>
    LastAdministrator,
}

/// <summary>Outcome of <see cref="IUserAdministrationGrain.ChangeAsync"/>, with the user as it now is.</summary>
[GenerateSerializer, Immutable, Alias("account-change-outcome.v1")]
public sealed record AccountChangeOutcome(
    [property: Id(0)] AccountChangeStatus Status,
    [property: Id(1)] UserView? User = null);

/// <summary>
/// The one place administrators change other accounts' role, plan and disabled flag (key: 0, a single activation for
/// the cluster). Changes are serialized here, which is what makes "the last active administrator cannot be demoted or
/// disabled" hold even when two administrators demote each other at the same moment.
/// </summary>
[Alias("IUserAdministrationGrain")]
public interface IUserAdministrationGrain : IGrainWithIntegerKey
{
    /// <summary>Applies <paramref name="change"/> to <paramref name="userId"/> on behalf of <paramref name="actorId"/>.</summary>
    [Alias("ChangeAsync")]
    Task<AccountChangeOutcome> ChangeAsync(string actorId, string userId, AccountChange change);
}
