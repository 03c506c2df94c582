using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Users;
using ApiPlatform.Grains.Webhooks;
using Microsoft.Extensions.Logging;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Organizations;

/// <inheritdoc cref="IOrganizationGrain"/>
/// <remarks>
/// State lives in the <c>organizations</c> and <c>memberships</c> rows, loaded at activation. Silos keep the
/// organization's plan and its admins and owners in memory (<see cref="IAccountHolder"/>: an organization's key acts
/// only while its creator is one of them); a change of either makes every holder forget before it answers.
/// </remarks>
public sealed class OrganizationGrain(OrganizationStore store, ApiClock clock, ILogger<OrganizationGrain> logger) : Grain, IOrganizationGrain
{
    private OrganizationRow? _organization;
    private readonly Dictionary<string, MemberView> _members = [];
    private readonly Holders<IAccountHolder> _holders = new((holder, id) => holder.ForgetAsync(id));

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (await store.LoadAsync(this.GetPrimaryKeyString()) is { } loaded)
        {
            _organization = loaded.Organization;
            foreach (var member in loaded.Members)
            {
                _members[member.UserId] = member;
            }
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => ForgetEverywhereAsync();

    public async Task<OrgOutcome> CreateAsync(string name, string slug, string plan, string creatorId, int maxOwned)
    {
        if (_organization is not null)
        {
            // A retried create (its id derives from the Idempotency-Key) finds what the first attempt made.
            return RoleOf(creatorId) == OrgRoles.Owner
                ? new OrgOutcome(OrgResult.Done, View())
                : throw new InvalidOperationException($"Organization {this.GetPrimaryKeyString()} exists already.");
        }

        var now = Now();
        var organization = new OrganizationRow(this.GetPrimaryKeyString(), name, slug, plan, now, now);
        var owner = new MemberView(creatorId, OrgRoles.Owner, now);
        var view = new OrganizationView(organization.Id, name, slug, plan, 1, now, now);
        if (!await store.InsertAsync(organization, owner, maxOwned,
            EventBodies.ForOrganization(WebhookEventTypes.OrganizationCreated, view, now),
            EventBodies.ForMembership(WebhookEventTypes.MembershipCreated, organization.Id, owner, now)))
        {
            DeactivateOnIdle();
            return new OrgOutcome(OrgResult.PlanLimitReached);
        }

        _organization = organization;
        _members[creatorId] = owner;
        return new OrgOutcome(OrgResult.Done, View());
    }

    public Task<AccountAccess> GetAccessAsync(IAccountHolder? holder)
    {
        if (_organization is null)
        {
            return Task.FromResult(AccountAccess.Missing);
        }

        _holders.Add(holder);
        var administrators = _members.Values.Where(m => OrgRoles.AtLeast(m.Role, OrgRoles.Admin)).Select(m => m.UserId).ToList();
        return Task.FromResult(new AccountAccess(true, _organization.Plan, Administrators: administrators));
    }

    public async Task<OrgOutcome> SetPlanAsync(string plan)
    {
        if (_organization is null)
        {
            return new OrgOutcome(OrgResult.NotFound);
        }

        if (_organization.Plan != plan)
        {
            var changed = _organization with { Plan = plan, UpdatedAt = Now() };
            await store.UpdateAsync(changed, EventBodies.ForOrganization(WebhookEventTypes.OrganizationUpdated,
                new OrganizationView(changed.Id, changed.Name, changed.Slug, changed.Plan, _members.Count, changed.CreatedAt, changed.UpdatedAt),
                changed.UpdatedAt));
            _organization = changed;
            await ForgetEverywhereAsync();
        }

        return new OrgOutcome(OrgResult.Done, View());
    }

    public Task<Membership?> GetMembershipAsync(string userId) =>
        Task.FromResult(ForgetIfMissing() && _members.TryGetValue(userId, out var member)
            ? new Membership(member.Role, _organization!.Plan)
            : null);

    public Task<bool> ExistsAsync() => Task.FromResult(ForgetIfMissing());

    /// <summary>
    /// True when the organization exists. Otherwise the activation goes once this call is answered: an id of no
    /// organization (made up, or deleted) must not keep a grain in memory per id someone tried.
    /// </summary>
    private bool ForgetIfMissing()
    {
        if (_organization is null)
        {
            DeactivateOnIdle();
            return false;
        }

        return true;
    }

    public Task<OrgOutcome> GetAsync(string actorId) =>
        Task.FromResult(RoleOf(actorId) is null ? new OrgOutcome(OrgResult.NotFound) : new OrgOutcome(OrgResult.Done, View()));

    public async Task<OrgOutcome> UpdateAsync(string actorId, string? name, string? slug)
    {
        if (Check(actorId, OrgRoles.Owner) is { } refused)
        {
            return refused;
        }

        var changed = _organization! with { Name = name ?? _organization.Name, Slug = slug ?? _organization.Slug };
        if (changed != _organization)
        {
            changed = changed with { UpdatedAt = Now() };
            await store.UpdateAsync(changed, EventBodies.ForOrganization(WebhookEventTypes.OrganizationUpdated,
                new OrganizationView(changed.Id, changed.Name, changed.Slug, changed.Plan, _members.Count, changed.CreatedAt, changed.UpdatedAt),
                changed.UpdatedAt));
            _organization = changed;
        }

        return new OrgOutcome(OrgResult.Done, View());
    }

    public async Task<OrgOutcome> DeleteAsync(string actorId)
    {
        if (Check(actorId, OrgRoles.Owner) is { } refused)
        {
            return refused;
        }

        // Why a grain calls grains here: the keys are owned by the organization's key registry and the slug by its
        // reservation; deleting the organization is this grain's workflow. Keys first, so a crash before the rows
        // are deleted leaves an organization that can be deleted again, never live keys of a deleted one.
        var view = View();
        await GrainFactory.GetGrain<IApiKeyRegistryGrain>(view.Id).RevokeAllAsync();
        var webhooks = await store.DeleteAsync(view.Id, EventBodies.ForOrganization(WebhookEventTypes.OrganizationDeleted, view, Now()));
        // The webhooks were disabled with the organization; their grains must also drop the retries they hold now.
        await Task.WhenAll(webhooks.Select(id => GrainFactory.GetGrain<IWebhookGrain>(id).OwnerDeletedAsync()));
        _organization = null;
        _members.Clear();
        await ForgetEverywhereAsync();
        await GrainFactory.GetGrain<IUniqueIndexGrain>(UniqueKeys.Slug(view.Slug)).ReleaseAsync(view.Id);
        DeactivateOnIdle();
        return new OrgOutcome(OrgResult.Done, view);
    }

    public Task<IReadOnlyList<MemberView>?> ListMembersAsync(string actorId) =>
        Task.FromResult<IReadOnlyList<MemberView>?>(RoleOf(actorId) is null
            ? null
            : _members.Values.OrderBy(m => m.JoinedAt).ThenBy(m => m.UserId, StringComparer.Ordinal).ToList());

    public async Task<OrgOutcome> AddMemberAsync(string actorId, string userId, string role)
    {
        if (Check(actorId, role == OrgRoles.Owner ? OrgRoles.Owner : OrgRoles.Admin) is { } refused)
        {
            return refused;
        }

        if (_members.TryGetValue(userId, out var existing))
        {
            return new OrgOutcome(OrgResult.AlreadyMember, Member: existing);
        }

        var member = new MemberView(userId, role, Now());
        await store.AddMemberAsync(_organization!.Id, member,
            EventBodies.ForMembership(WebhookEventTypes.MembershipCreated, _organization.Id, member, member.JoinedAt));
        _members[userId] = member;
        if (OrgRoles.AtLeast(role, OrgRoles.Admin))
        {
            await ForgetEverywhereAsync();
        }
        return new OrgOutcome(OrgResult.Done, View(), member);
    }

    public async Task<OrgOutcome> SetRoleAsync(string actorId, string userId, string role)
    {
        if (RoleOf(actorId) is null)
        {
            return new OrgOutcome(OrgResult.NotFound);
        }

        if (!_members.TryGetValue(userId, out var member))
        {
            return new OrgOutcome(OrgResult.NotMember);
        }

        // Granting or taking the owner role is for owners; everything else for admins.
        var needed = role == OrgRoles.Owner || member.Role == OrgRoles.Owner ? OrgRoles.Owner : OrgRoles.Admin;
        if (Check(actorId, needed) is { } refused)
        {
            return refused;
        }

        if (member.Role == OrgRoles.Owner && role != OrgRoles.Owner && OwnerCount() == 1)
        {
            return new OrgOutcome(OrgResult.LastOwner, Member: member);
        }

        if (member.Role != role)
        {
            var changed = member with { Role = role };
            await store.SetRoleAsync(_organization!.Id, userId, role,
                EventBodies.ForMembership(WebhookEventTypes.MembershipUpdated, _organization.Id, changed, Now()));
            var adminsChanged = OrgRoles.AtLeast(member.Role, OrgRoles.Admin) != OrgRoles.AtLeast(role, OrgRoles.Admin);
            member = changed;
            _members[userId] = member;
            if (adminsChanged)
            {
                // Keys the member created act only while the member is an admin or owner.
                await ForgetEverywhereAsync();
            }
        }

        return new OrgOutcome(OrgResult.Done, View(), member);
    }

    public async Task<OrgOutcome> RemoveMemberAsync(string actorId, string userId)
    {
        if (RoleOf(actorId) is null)
        {
            return new OrgOutcome(OrgResult.NotFound);
        }

        if (!_members.TryGetValue(userId, out var member))
        {
            return new OrgOutcome(OrgResult.NotMember);
        }

        // Anyone may leave; removing someone else takes an admin, and removing an owner takes an owner.
        if (actorId != userId && Check(actorId, member.Role == OrgRoles.Owner ? OrgRoles.Owner : OrgRoles.Admin) is { } refused)
        {
            return refused;
        }

        if (member.Role == OrgRoles.Owner && OwnerCount() == 1)
        {
            return new OrgOutcome(OrgResult.LastOwner, Member: member);
        }

        await store.RemoveMemberAsync(_organization!.Id, userId,
            EventBodies.ForMembership(WebhookEventTypes.MembershipDeleted, _organization.Id, member, Now()));
        _members.Remove(userId);
        if (OrgRoles.AtLeast(member.Role, OrgRoles.Admin))
        {
            await ForgetEverywhereAsync();
        }

        return new OrgOutcome(OrgResult.Done, View(), member);
    }

    public async Task<InvitationOutcome> InviteAsync(string actorId, NewInvitation invitation)
    {
        if (Check(actorId, invitation.Role == OrgRoles.Owner ? OrgRoles.Owner : OrgRoles.Admin) is { } refused)
        {
            return new InvitationOutcome(refused.Result == OrgResult.Forbidden ? InvitationResult.Forbidden : InvitationResult.NotFound);
        }

        var now = Now();
        if (await store.LoadInvitationAsync(_organization!.Id, invitation.InvitationId, now) is { } made)
        {
            // A retried invite (its id derives from the Idempotency-Key): answered as made, without a second mail.
            return new InvitationOutcome(InvitationResult.Done, made.View, Organization: View());
        }

        var (forEmail, all) = await store.CountPendingInvitationsAsync(_organization.Id, invitation.Email, now);
        if (forEmail > 0)
        {
            return new InvitationOutcome(InvitationResult.AlreadyInvited);
        }

        if (all >= invitation.MaxPending)
        {
            return new InvitationOutcome(InvitationResult.LimitReached);
        }

        var secret = Ids.RandomToken(43);
        var view = new InvitationView(invitation.InvitationId, _organization.Id, invitation.Email, invitation.Role, actorId,
            InvitationStatus.Pending, now, now + invitation.Lifetime, null);
        await store.InsertInvitationAsync(view, SecretHash.Of(secret));
        return new InvitationOutcome(InvitationResult.Done, view, InvitationTokens.Create(_organization.Id, view.Id, secret), Organization: View());
    }

    public async Task<InvitationList> ListInvitationsAsync(string actorId, int offset, int limit)
    {
        if (Check(actorId, OrgRoles.Admin) is { } refused)
        {
            return new InvitationList(refused.Result == OrgResult.Forbidden ? InvitationResult.Forbidden : InvitationResult.NotFound);
        }

        return new InvitationList(InvitationResult.Done, await store.ListInvitationsAsync(_organization!.Id, offset, limit, clock.UtcNow));
    }

    public async Task<InvitationOutcome> RevokeInvitationAsync(string actorId, string invitationId)
    {
        if (Check(actorId, OrgRoles.Admin) is { } refused)
        {
            return new InvitationOutcome(refused.Result == OrgResult.Forbidden ? InvitationResult.Forbidden : InvitationResult.NotFound);
        }

        var row = await store.LoadInvitationAsync(_organization!.Id, invitationId, clock.UtcNow);
        if (row is null)
        {
            return new InvitationOutcome(InvitationResult.NotFound);
        }

        if (row.View.Role == OrgRoles.Owner && RoleOf(actorId) != OrgRoles.Owner)
        {
            return new InvitationOutcome(InvitationResult.Forbidden);
        }

        await store.RevokeInvitationAsync(invitationId, Now());
        return new InvitationOutcome(InvitationResult.Done, (await store.LoadInvitationAsync(_organization.Id, invitationId, clock.UtcNow))!.View);
    }

    public async Task<InvitationOutcome> AcceptInvitationAsync(string invitationId, string secret, string userId, string email, bool emailVerified)
    {
        if (_organization is null)
        {
            return new InvitationOutcome(InvitationResult.NotFound);
        }

        var row = await store.LoadInvitationAsync(_organization.Id, invitationId, clock.UtcNow);
        if (row is null || row.View.Status != InvitationStatus.Pending || !SecretHash.Matches(secret, row.SecretHash))
        {
            return new InvitationOutcome(InvitationResult.NotFound);
        }

        if (!string.Equals(row.View.Email, email, StringComparison.OrdinalIgnoreCase))
        {
            return new InvitationOutcome(InvitationResult.EmailMismatch);
        }

        if (!emailVerified)
        {
            return new InvitationOutcome(InvitationResult.EmailNotVerified);
        }

        if (_members.TryGetValue(userId, out var existing))
        {
            return new InvitationOutcome(InvitationResult.AlreadyMember, row.View, Member: existing, Organization: View());
        }

        var member = new MemberView(userId, row.View.Role, Now());
        await store.AcceptInvitationAsync(_organization.Id, invitationId, member,
            EventBodies.ForMembership(WebhookEventTypes.MembershipCreated, _organization.Id, member, member.JoinedAt));
        _members[userId] = member;
        if (OrgRoles.AtLeast(member.Role, OrgRoles.Admin))
        {
            await ForgetEverywhereAsync();
        }

        return new InvitationOutcome(InvitationResult.Done, row.View with { Status = InvitationStatus.Accepted, AcceptedAt = member.JoinedAt },
            Member: member, Organization: View());
    }

    private Task ForgetEverywhereAsync() => _holders.ForgetEverywhereAsync(this.GetPrimaryKeyString(), logger);

    private string? RoleOf(string userId) =>
        _organization is not null && _members.TryGetValue(userId, out var member) ? member.Role : null;

    /// <summary>Null when the actor has <paramref name="needed"/>; otherwise the refusal (404 for outsiders).</summary>
    private OrgOutcome? Check(string actorId, string needed) => RoleOf(actorId) switch
    {
        null => new OrgOutcome(OrgResult.NotFound),
        var role when !OrgRoles.AtLeast(role, needed) => new OrgOutcome(OrgResult.Forbidden),
        _ => null,
    };

    private int OwnerCount() => _members.Values.Count(m => m.Role == OrgRoles.Owner);

    private OrganizationView View()
    {
        var o = _organization!;
        return new OrganizationView(o.Id, o.Name, o.Slug, o.Plan, _members.Count, o.CreatedAt, o.UpdatedAt);
    }

    private DateTimeOffset Now() => DbTime.FromMicros(DbTime.Micros(clock.UtcNow));
}
