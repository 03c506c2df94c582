namespace ApiPlatform.Grains.Organizations;

/// <summary>
/// One organization (key: org id): name, slug, plan and members with roles. Every operation names the acting user and
/// the grain checks that user's role in the same turn as the change, so a permission can never be used after it was
/// taken away. Members read; admins also manage members; owners also update and delete; an organization always keeps
/// an owner.
/// </summary>
[Alias("IOrganizationGrain")]
public interface IOrganizationGrain : IGrainWithStringKey
{
    /// <summary>
    /// Creates the organization with <paramref name="creatorId"/> as its owner, unless another organization holds
    /// <paramref name="slug"/> (<see cref="OrganizationStatus.SlugTaken"/>) or the creator already owns
    /// <paramref name="maxOwned"/> organizations (<see cref="OrganizationStatus.PlanLimitReached"/>; the count and the
    /// insert are one transaction, so concurrent creates cannot pass the cap). The slug is claimed first and confirmed
    /// once the rows exist; a claim a crash left unconfirmed lapses on its own. An organization that exists already
    /// with that creator as an owner is answered as created (a retried create).
    /// </summary>
    [Alias("CreateAsync.v3")]
    Task<OrganizationOutcome> CreateAsync(string name, string slug, string plan, string creatorId, int maxOwned);

    /// <summary>
    /// What a request needs to know about the organization: whether it exists, its plan and its admins and owners.
    /// <paramref name="holder"/> is told to forget the answer before any of these changes.
    /// </summary>
    [Alias("GetAccessAsync")]
    Task<Users.AccountAccess> GetAccessAsync(Users.IAccountHolder? holder);

    /// <summary>The actor's role and the organization's plan, or null for a non-member or a missing organization.</summary>
    [Alias("GetMembershipAsync")]
    Task<Membership?> GetMembershipAsync(string userId);

    /// <summary>True while the organization exists.</summary>
    [Alias("ExistsAsync")]
    Task<bool> ExistsAsync();

    /// <summary>The organization, with the actor's membership; <see cref="OrganizationStatus.NotFound"/> for outsiders.</summary>
    [Alias("GetAsync")]
    Task<OrganizationOutcome> GetAsync(string actorId);

    /// <summary>
    /// Renames and/or re-slugs (owners; also when nothing but the plan is named: an empty update answers the
    /// organization), then moves it to <see cref="OrganizationUpdate.Plan"/> (for system administrators, who need not be
    /// members: the caller checked). A new slug is claimed through its unique index before the row changes and the old
    /// one freed after; a slug held by another organization is <see cref="OrganizationStatus.SlugTaken"/>. The answer's
    /// <see cref="OrganizationOutcome.Member"/> is the actor's membership, if any.
    /// </summary>
    [Alias("UpdateAsync.v2")]
    Task<OrganizationOutcome> UpdateAsync(string actorId, OrganizationUpdate update);

    /// <summary>
    /// Deletes the organization (owners only). It is marked deleted first (a persisted mark), then its API keys are
    /// revoked and its key registry closed (no key is made for it after), its rows (memberships, resources,
    /// invitations) deleted in one transaction, its webhooks told, and its slug freed. Every step is idempotent, so a
    /// deletion a crash interrupted is finished before the grain answers any other call, or by a reminder.
    /// </summary>
    [Alias("DeleteAsync")]
    Task<OrganizationOutcome> DeleteAsync(string actorId);

    [Alias("ListMembersAsync")]
    Task<IReadOnlyList<MemberView>?> ListMembersAsync(string actorId);

    /// <summary>Adds a member (admins and owners; only owners may add owners).</summary>
    [Alias("AddMemberAsync")]
    Task<OrganizationOutcome> AddMemberAsync(string actorId, string userId, string role);

    /// <summary>Changes a member's role (admins and owners; only owners grant or take the owner role).</summary>
    [Alias("SetRoleAsync")]
    Task<OrganizationOutcome> SetRoleAsync(string actorId, string userId, string role);

    /// <summary>Removes a member: anyone may leave; admins remove members and admins; owners remove anyone.</summary>
    [Alias("RemoveMemberAsync")]
    Task<OrganizationOutcome> RemoveMemberAsync(string actorId, string userId);

    /// <summary>
    /// Invites an email address (admins and owners; only owners invite owners). A pending invitation for the same
    /// address answers <see cref="InvitationStatus.AlreadyInvited"/>; the answer carries the token, once.
    /// </summary>
    [Alias("InviteAsync")]
    Task<InvitationOutcome> InviteAsync(string actorId, NewInvitation invitation);

    /// <summary>The organization's invitations, newest first (admins and owners).</summary>
    [Alias("ListInvitationsAsync")]
    Task<InvitationList> ListInvitationsAsync(string actorId, int offset, int limit);

    /// <summary>Withdraws a pending invitation (admins and owners).</summary>
    [Alias("RevokeInvitationAsync")]
    Task<InvitationOutcome> RevokeInvitationAsync(string actorId, string invitationId);

    /// <summary>
    /// Accepts an invitation: the token's secret must match a pending, unexpired invitation whose email is the
    /// accepting user's, verified. The membership and the invitation's acceptance are one transaction.
    /// </summary>
    [Alias("AcceptInvitationAsync")]
    Task<InvitationOutcome> AcceptInvitationAsync(string invitationId, string secret, string userId, string email, bool emailVerified);
}
