using ApiPlatform.Grains.Resources;
using ApiPlatform.Grains.Webhooks;

namespace ApiPlatform.Grains.Organizations;

/// <inheritdoc cref="IOrganizationGrain"/>
/// <remarks>State lives in the <c>organizations</c> and <c>memberships</c> rows, loaded at activation.</remarks>
public sealed class OrganizationGrain(OrganizationStore store, ApiClock clock) : Grain, IOrganizationGrain
{
    private OrganizationRow? _organization;
    private readonly Dictionary<string, MemberView> _members = [];

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

    public async Task<OrganizationView> CreateAsync(string name, string slug, string plan, string creatorId)
    {
        if (_organization is not null)
        {
            throw new InvalidOperationException($"Organization {this.GetPrimaryKeyString()} exists already.");
        }

        var now = Now();
        var organization = new OrganizationRow(this.GetPrimaryKeyString(), name, slug, plan, now, now);
        var owner = new MemberView(creatorId, OrgRoles.Owner, now);
        var view = new OrganizationView(organization.Id, name, slug, plan, 1, now, now);
        await store.InsertAsync(organization, owner,
            WebhookEvents.ForOrganization(WebhookEventTypes.OrganizationCreated, view, now),
            WebhookEvents.ForMembership(WebhookEventTypes.MembershipCreated, organization.Id, owner, now));
        _organization = organization;
        _members[creatorId] = owner;
        return View();
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
            await store.UpdateAsync(changed, WebhookEvents.ForOrganization(WebhookEventTypes.OrganizationUpdated,
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

        var view = View();
        await store.DeleteAsync(view.Id, WebhookEvents.ForOrganization(WebhookEventTypes.OrganizationDeleted, view, Now()));
        _organization = null;
        _members.Clear();
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
            WebhookEvents.ForMembership(WebhookEventTypes.MembershipCreated, _organization.Id, member, member.JoinedAt));
        _members[userId] = member;
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
                WebhookEvents.ForMembership(WebhookEventTypes.MembershipUpdated, _organization.Id, changed, Now()));
            member = changed;
            _members[userId] = member;
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
            WebhookEvents.ForMembership(WebhookEventTypes.MembershipDeleted, _organization.Id, member, Now()));
        _members.Remove(userId);
        return new OrgOutcome(OrgResult.Done, View(), member);
    }

    /// <summary>Wakes this silo's event relay: an event was committed. Without one (grain tests), the relay's poll finds it.</summary>

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

    private DateTimeOffset Now() => ResourceStore.FromMicros(ResourceStore.Micros(clock.UtcNow));
}
