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
    /// Creates the organization with <paramref name="creatorId"/> as its owner (slug already reserved), unless the
    /// creator already owns <paramref name="maxOwned"/> organizations (<see cref="OrgResult.PlanLimitReached"/>; the
    /// count and the insert are one transaction, so concurrent creates cannot pass the cap). An organization that
    /// exists already with that creator as an owner is answered as created (a retried create).
    /// </summary>
    [Alias("CreateAsync.v2")]
    Task<OrgOutcome> CreateAsync(string name, string slug, string plan, string creatorId, int maxOwned);

    /// <summary>
    /// What a request needs to know about the organization: whether it exists, its plan and its admins and owners.
    /// <paramref name="holder"/> is told to forget the answer before any of these changes.
    /// </summary>
    [Alias("GetAccessAsync")]
    Task<Users.AccountAccess> GetAccessAsync(Users.IAccountHolder? holder);

    /// <summary>Moves the organization to another plan (system administrators decide; the caller checked).</summary>
    [Alias("SetPlanAsync")]
    Task<OrgOutcome> SetPlanAsync(string plan);

    /// <summary>The actor's role and the organization's plan, or null for a non-member or a missing organization.</summary>
    [Alias("GetMembershipAsync")]
    Task<Membership?> GetMembershipAsync(string userId);

    /// <summary>True while the organization exists.</summary>
    [Alias("ExistsAsync")]
    Task<bool> ExistsAsync();

    [Alias("GetAsync")]
    Task<OrgOutcome> GetAsync(string actorId);

    /// <summary>Renames and/or re-slugs (owners only); a new slug is reserved by the caller beforehand.</summary>
    [Alias("UpdateAsync")]
    Task<OrgOutcome> UpdateAsync(string actorId, string? name, string? slug);

    /// <summary>
    /// Deletes the organization with its memberships and resources (owners only), revokes its API keys and frees its
    /// slug. The keys go first: a deletion that crashed before its rows were deleted is finished by deleting again.
    /// </summary>
    [Alias("DeleteAsync")]
    Task<OrgOutcome> DeleteAsync(string actorId);

    [Alias("ListMembersAsync")]
    Task<IReadOnlyList<MemberView>?> ListMembersAsync(string actorId);

    /// <summary>Adds a member (admins and owners; only owners may add owners).</summary>
    [Alias("AddMemberAsync")]
    Task<OrgOutcome> AddMemberAsync(string actorId, string userId, string role);

    /// <summary>Changes a member's role (admins and owners; only owners grant or take the owner role).</summary>
    [Alias("SetRoleAsync")]
    Task<OrgOutcome> SetRoleAsync(string actorId, string userId, string role);

    /// <summary>Removes a member: anyone may leave; admins remove members and admins; owners remove anyone.</summary>
    [Alias("RemoveMemberAsync")]
    Task<OrgOutcome> RemoveMemberAsync(string actorId, string userId);

    /// <summary>
    /// Invites an email address (admins and owners; only owners invite owners). A pending invitation for the same
    /// address answers <see cref="InvitationResult.AlreadyInvited"/>; the answer carries the token, once.
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
