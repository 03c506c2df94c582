using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Users;
using ApiPlatform.Grains.Webhooks;
using Microsoft.Extensions.Logging;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Organizations;

/// <summary>
/// Persisted state of <see cref="OrganizationGrain"/>: only its workflows in flight (the organization itself is rows).
/// Empty but for the moments a slug change or a deletion runs, and after a crash until that is finished.
/// </summary>
[GenerateSerializer]
public sealed class OrganizationWorkState
{
    /// <summary>A slug change under way: the slug held before it, and the one claimed for it.</summary>
    [Id(0)] public string? SlugFrom { get; set; }
    [Id(1)] public string? SlugTo { get; set; }

    /// <summary>True from the moment a deletion starts until its last step is done.</summary>
    [Id(2)] public bool Deleting { get; set; }

    /// <summary>The slug the deletion frees (the rows that name it may be gone already).</summary>
    [Id(3)] public string? DeletingSlug { get; set; }
}

/// <inheritdoc cref="IOrganizationGrain"/>
/// <remarks>
/// State lives in the <c>organizations</c> and <c>memberships</c> rows, loaded at activation. Silos keep the
/// organization's plan and its admins and owners in memory (<see cref="IAccountHolder"/>: an organization's key acts
/// only while its creator is one of them); a change of either makes every holder forget before it answers.
/// <para>
/// Why this grain calls other grains: changing the slug and deleting the organization are its workflows (the slug's
/// <see cref="IUniqueIndexGrain"/>, the <see cref="IApiKeyRegistryGrain"/> of its keys and its webhooks' grains own
/// their parts). Each workflow writes what it is about to do to <see cref="OrganizationWorkState"/> first and every
/// step is idempotent, so one a crash interrupted is finished before the grain answers anything else (a grain call
/// filter), or by <see cref="ResumeReminder"/> when nobody calls.
/// </para>
/// </remarks>
public sealed class OrganizationGrain(
    [PersistentState("organization", GrainStorage.Main)] IPersistentState<OrganizationWorkState> work,
    OrganizationStore store,
    ApiClock clock,
    LocalHolders localHolders,
    ILogger<OrganizationGrain> logger) : Grain, IOrganizationGrain, IRemindable, IIncomingGrainCallFilter
{
    /// <summary>The reminder that finishes a workflow a crash interrupted, registered while one runs.</summary>
    public const string ResumeReminder = "resume-workflow";

    private static readonly TimeSpan ResumePeriod = TimeSpan.FromMinutes(1);

    private OrganizationRow? _organization;
    private readonly Dictionary<string, MemberView> _members = [];
    private readonly Holders<IAccountHolder> _holders = new((holder, id) => holder.ForgetAsync(id));

    private string Id => this.GetPrimaryKeyString();

    private bool HasPendingWork => work.State.Deleting || work.State.SlugTo is not null;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (await store.LoadAsync(Id) is { } loaded)
        {
            _organization = loaded.Organization;
            foreach (var member in loaded.Members)
            {
                _members[member.UserId] = member;
            }
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        _holders.ForgetOnDeactivationAsync(Id, reason, localHolders, logger);

    /// <summary>
    /// Finishes a workflow a crash interrupted before any call is answered, so no caller sees a half-changed slug or a
    /// half-deleted organization. (A workflow that runs normally does so within one call: this grain interleaves none.)
    /// </summary>
    async Task IIncomingGrainCallFilter.Invoke(IIncomingGrainCallContext context)
    {
        if (HasPendingWork)
        {
            await ResumeAsync();
        }

        await context.Invoke();
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => HasPendingWork ? Task.CompletedTask : ForgetReminderAsync();

    /// <summary>Finishes whatever workflow the state says is under way (the call filter ran before this).</summary>
    private async Task ResumeAsync()
    {
        if (work.State.SlugTo is not null)
        {
            await FinishSlugChangeAsync();
        }

        if (work.State.Deleting)
        {
            await FinishDeletionAsync();
        }
    }

    public async Task<OrganizationOutcome> CreateAsync(string name, string slug, string plan, string creatorId, int maxOwned)
    {
        if (_organization is not null)
        {
            // A retried create (its id derives from the Idempotency-Key) finds what the first attempt made.
            return RoleOf(creatorId) == OrgRoles.Owner
                ? new OrganizationOutcome(OrganizationStatus.Done, View())
                : throw new InvalidOperationException($"Organization {Id} exists already.");
        }

        // Concurrent creates of one slug: exactly one claim wins. A crash before the confirmation leaves a pending claim
        // that lapses (or that a retry under the same Idempotency-Key, deriving the same id, takes up again).
        var reservation = GrainFactory.GetGrain<IUniqueIndexGrain>(UniqueKeys.Slug(slug));
        if (!await reservation.TryClaimAsync(Id))
        {
            DeactivateOnIdle();
            return new OrganizationOutcome(OrganizationStatus.SlugTaken);
        }

        // An id is only ever reused by a create retried under its Idempotency-Key after the organization was deleted.
        await GrainFactory.GetGrain<IApiKeyRegistryGrain>(Id).ReopenAsync();
        var now = Now();
        var organization = new OrganizationRow(Id, name, slug, plan, now, now);
        var owner = new MemberView(creatorId, OrgRoles.Owner, now);
        var view = new OrganizationView(organization.Id, name, slug, plan, 1, now, now);
        if (!await store.InsertAsync(organization, owner, maxOwned,
            EventBodies.ForOrganization(WebhookEventTypes.OrganizationCreated, view, now),
            EventBodies.ForMembership(WebhookEventTypes.MembershipCreated, organization.Id, owner, now)))
        {
            await reservation.ReleaseAsync(Id);
            DeactivateOnIdle();
            return new OrganizationOutcome(OrganizationStatus.PlanLimitReached);
        }

        _organization = organization;
        _members[creatorId] = owner;
        await reservation.ConfirmAsync(Id);
        return new OrganizationOutcome(OrganizationStatus.Done, View());
    }

    public Task<AccountAccess> GetAccessAsync(IAccountHolder? holder)
    {
        if (_organization is null)
        {
            return Task.FromResult(AccountAccess.Missing);
        }

        _holders.Add(holder);
        var administrators = _members.Values.Where(m => OrgRoles.AtLeast(m.Role, OrgRoles.Admin)).Select(m => m.UserId).ToList();
        return Task.FromResult(new AccountAccess(true, _organization!.Plan, Administrators: administrators));
    }

    /// <summary>Moves the organization to another plan; every holder forgets the old one.</summary>
    private async Task SetPlanAsync(string plan)
    {
        if (_organization!.Plan != plan)
        {
            await WriteAsync(_organization with { Plan = plan });
            await ForgetEverywhereAsync();
        }
    }

    /// <summary>Writes a changed row (stamped now) with its <c>organization.updated</c> event.</summary>
    private async Task WriteAsync(OrganizationRow changed)
    {
        changed = changed with { UpdatedAt = Now() };
        await store.UpdateAsync(changed, EventBodies.ForOrganization(WebhookEventTypes.OrganizationUpdated,
            new OrganizationView(changed.Id, changed.Name, changed.Slug, changed.Plan, _members.Count, changed.CreatedAt, changed.UpdatedAt),
            changed.UpdatedAt));
        _organization = changed;
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

    public Task<OrganizationOutcome> GetAsync(string actorId) =>
        Task.FromResult(RoleOf(actorId) is null
            ? new OrganizationOutcome(OrganizationStatus.NotFound)
            : new OrganizationOutcome(OrganizationStatus.Done, View(), _members[actorId]));

    public async Task<OrganizationOutcome> UpdateAsync(string actorId, OrganizationUpdate update)
    {
        if (_organization is null)
        {
            return new OrganizationOutcome(OrganizationStatus.NotFound);
        }

        // Without a plan this is the owners' PATCH as ever (an empty one too: it answers the organization).
        if (update.Name is not null || update.Slug is not null || update.Plan is null)
        {
            if (Check(actorId, OrgRoles.Owner) is { } refused)
            {
                return refused;
            }

            if (update.Slug is { } slug && slug != _organization!.Slug && !await ChangeSlugAsync(slug, update.Name))
            {
                return new OrganizationOutcome(OrganizationStatus.SlugTaken);
            }

            if (update.Name is { } name && name != _organization!.Name)
            {
                await WriteAsync(_organization with { Name = name });
            }
        }

        if (update.Plan is not null)
        {
            await SetPlanAsync(update.Plan);
        }

        return new OrganizationOutcome(OrganizationStatus.Done, View(), _members.GetValueOrDefault(actorId));
    }

    /// <summary>
    /// The slug change: the intent is written, the new slug claimed and confirmed, the row changed (with the new name,
    /// if any), the old slug freed. False when another organization holds the slug (nothing changed).
    /// </summary>
    private async Task<bool> ChangeSlugAsync(string slug, string? name)
    {
        var from = _organization!.Slug;
        await RemindAsync();
        work.State.SlugFrom = from;
        work.State.SlugTo = slug;
        await work.WriteStateAsync();
        if (!await GrainFactory.GetGrain<IUniqueIndexGrain>(UniqueKeys.Slug(slug)).TryClaimAsync(Id))
        {
            await FinishSlugChangeAsync();
            return false;
        }

        // Confirmed before the row names it: a claim that lapsed while the row held the slug could go to another.
        await GrainFactory.GetGrain<IUniqueIndexGrain>(UniqueKeys.Slug(slug)).ConfirmAsync(Id);
        await WriteAsync(_organization with { Slug = slug, Name = name ?? _organization.Name });
        await FinishSlugChangeAsync();
        return true;
    }

    /// <summary>
    /// Frees the slug the row no longer names: the old one once the row changed, otherwise the new claim. Idempotent.
    /// </summary>
    private async Task FinishSlugChangeAsync()
    {
        var (from, to) = (work.State.SlugFrom!, work.State.SlugTo!);
        var applied = _organization?.Slug == to;
        await GrainFactory.GetGrain<IUniqueIndexGrain>(UniqueKeys.Slug(applied ? from : to)).ReleaseAsync(Id);
        work.State.SlugFrom = work.State.SlugTo = null;
        await work.WriteStateAsync();
        await ForgetReminderAsync();
    }

    public async Task<OrganizationOutcome> DeleteAsync(string actorId)
    {
        if (Check(actorId, OrgRoles.Owner) is { } refused)
        {
            return refused;
        }

        var view = View();
        await RemindAsync();
        work.State.Deleting = true;
        work.State.DeletingSlug = view.Slug;
        await work.WriteStateAsync();
        await FinishDeletionAsync();
        return new OrganizationOutcome(OrganizationStatus.Done, view);
    }

    /// <summary>
    /// The deletion after its mark, each step idempotent: the keys are revoked and the registry closed (keys die before
    /// their organization, and none is made after), the rows go in one transaction with the <c>organization.deleted</c>
    /// event, every holder forgets the organization, the webhooks drop their retries, the slug is freed, the mark goes.
    /// </summary>
    private async Task FinishDeletionAsync()
    {
        await GrainFactory.GetGrain<IApiKeyRegistryGrain>(Id).CloseAsync();
        if (_organization is not null)
        {
            await store.DeleteAsync(Id, EventBodies.ForOrganization(WebhookEventTypes.OrganizationDeleted, View(), Now()));
            _organization = null;
            _members.Clear();
        }

        await ForgetEverywhereAsync();

        // The webhooks were disabled with the organization; their grains must also drop the retries they hold now.
        await store.ClosedAsync(GrainFactory, Id);
        await GrainFactory.GetGrain<IUniqueIndexGrain>(UniqueKeys.Slug(work.State.DeletingSlug!)).ReleaseAsync(Id);
        await work.ClearStateAsync();
        await ForgetReminderAsync();
        DeactivateOnIdle();
    }

    /// <summary>Registers the reminder that finishes a workflow if this activation dies before it does.</summary>
    private Task RemindAsync() => this.RegisterOrUpdateReminder(ResumeReminder, ResumePeriod, ResumePeriod);

    private async Task ForgetReminderAsync()
    {
        if (await this.GetReminder(ResumeReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task<IReadOnlyList<MemberView>?> ListMembersAsync(string actorId) =>
        Task.FromResult<IReadOnlyList<MemberView>?>(RoleOf(actorId) is null
            ? null
            : _members.Values.OrderBy(m => m.JoinedAt).ThenBy(m => m.UserId, StringComparer.Ordinal).ToList());

    public async Task<OrganizationOutcome> AddMemberAsync(string actorId, string userId, string role)
    {
        if (Check(actorId, role == OrgRoles.Owner ? OrgRoles.Owner : OrgRoles.Admin) is { } refused)
        {
            return refused;
        }

        if (_members.TryGetValue(userId, out var existing))
        {
            return new OrganizationOutcome(OrganizationStatus.AlreadyMember, Member: existing);
        }

        var member = new MemberView(userId, role, Now());
        await store.AddMemberAsync(_organization!.Id, member,
            EventBodies.ForMembership(WebhookEventTypes.MembershipCreated, _organization.Id, member, member.JoinedAt));
        _members[userId] = member;
        if (OrgRoles.AtLeast(role, OrgRoles.Admin))
        {
            await ForgetEverywhereAsync();
        }
        return new OrganizationOutcome(OrganizationStatus.Done, View(), member);
    }

    public async Task<OrganizationOutcome> SetRoleAsync(string actorId, string userId, string role)
    {
        if (RoleOf(actorId) is null)
        {
            return new OrganizationOutcome(OrganizationStatus.NotFound);
        }

        if (!_members.TryGetValue(userId, out var member))
        {
            return new OrganizationOutcome(OrganizationStatus.NotMember);
        }

        // Granting or taking the owner role is for owners; everything else for admins.
        var needed = role == OrgRoles.Owner || member.Role == OrgRoles.Owner ? OrgRoles.Owner : OrgRoles.Admin;
        if (Check(actorId, needed) is { } refused)
        {
            return refused;
        }

        if (member.Role == OrgRoles.Owner && role != OrgRoles.Owner && OwnerCount() == 1)
        {
            return new OrganizationOutcome(OrganizationStatus.LastOwner, Member: member);
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

        return new OrganizationOutcome(OrganizationStatus.Done, View(), member);
    }

    public async Task<OrganizationOutcome> RemoveMemberAsync(string actorId, string userId)
    {
        if (RoleOf(actorId) is null)
        {
            return new OrganizationOutcome(OrganizationStatus.NotFound);
        }

        if (!_members.TryGetValue(userId, out var member))
        {
            return new OrganizationOutcome(OrganizationStatus.NotMember);
        }

        // Anyone may leave; removing someone else takes an admin, and removing an owner takes an owner.
        if (actorId != userId && Check(actorId, member.Role == OrgRoles.Owner ? OrgRoles.Owner : OrgRoles.Admin) is { } refused)
        {
            return refused;
        }

        if (member.Role == OrgRoles.Owner && OwnerCount() == 1)
        {
            return new OrganizationOutcome(OrganizationStatus.LastOwner, Member: member);
        }

        await store.RemoveMemberAsync(_organization!.Id, userId,
            EventBodies.ForMembership(WebhookEventTypes.MembershipDeleted, _organization.Id, member, Now()));
        _members.Remove(userId);
        if (OrgRoles.AtLeast(member.Role, OrgRoles.Admin))
        {
            await ForgetEverywhereAsync();
        }

        return new OrganizationOutcome(OrganizationStatus.Done, View(), member);
    }

    public async Task<InvitationOutcome> InviteAsync(string actorId, NewInvitation invitation)
    {
        if (Check(actorId, invitation.Role == OrgRoles.Owner ? OrgRoles.Owner : OrgRoles.Admin) is { } refused)
        {
            return new InvitationOutcome(refused.Status == OrganizationStatus.Forbidden ? InvitationStatus.Forbidden : InvitationStatus.NotFound);
        }

        var now = Now();
        if (await store.LoadInvitationAsync(_organization!.Id, invitation.InvitationId, now) is { } made)
        {
            // A retried invite (its id derives from the Idempotency-Key): answered as made, without a second mail.
            return new InvitationOutcome(InvitationStatus.Done, made.View, Organization: View());
        }

        var (forEmail, all) = await store.CountPendingInvitationsAsync(_organization.Id, invitation.Email, now);
        if (forEmail > 0)
        {
            return new InvitationOutcome(InvitationStatus.AlreadyInvited);
        }

        if (all >= invitation.MaxPending)
        {
            return new InvitationOutcome(InvitationStatus.LimitReached);
        }

        var secret = Ids.RandomToken(43);
        var view = new InvitationView(invitation.InvitationId, _organization.Id, invitation.Email, invitation.Role, actorId,
            InvitationStates.Pending, now, now + invitation.Lifetime, null);
        await store.InsertInvitationAsync(view, SecretHash.Of(secret));
        return new InvitationOutcome(InvitationStatus.Done, view, InvitationTokens.Create(_organization.Id, view.Id, secret), Organization: View());
    }

    public async Task<InvitationList> ListInvitationsAsync(string actorId, int offset, int limit)
    {
        if (Check(actorId, OrgRoles.Admin) is { } refused)
        {
            return new InvitationList(refused.Status == OrganizationStatus.Forbidden ? InvitationStatus.Forbidden : InvitationStatus.NotFound);
        }

        return new InvitationList(InvitationStatus.Done, await store.ListInvitationsAsync(_organization!.Id, offset, limit, clock.UtcNow));
    }

    public async Task<InvitationOutcome> RevokeInvitationAsync(string actorId, string invitationId)
    {
        if (Check(actorId, OrgRoles.Admin) is { } refused)
        {
            return new InvitationOutcome(refused.Status == OrganizationStatus.Forbidden ? InvitationStatus.Forbidden : InvitationStatus.NotFound);
        }

        var row = await store.LoadInvitationAsync(_organization!.Id, invitationId, clock.UtcNow);
        if (row is null)
        {
            return new InvitationOutcome(InvitationStatus.NotFound);
        }

        if (row.View.Role == OrgRoles.Owner && RoleOf(actorId) != OrgRoles.Owner)
        {
            return new InvitationOutcome(InvitationStatus.Forbidden);
        }

        await store.RevokeInvitationAsync(invitationId, Now());
        return new InvitationOutcome(InvitationStatus.Done, (await store.LoadInvitationAsync(_organization.Id, invitationId, clock.UtcNow))!.View);
    }

    public async Task<InvitationOutcome> AcceptInvitationAsync(string invitationId, string secret, string userId, string email, bool emailVerified)
    {
        if (_organization is null)
        {
            return new InvitationOutcome(InvitationStatus.NotFound);
        }

        var row = await store.LoadInvitationAsync(_organization.Id, invitationId, clock.UtcNow);
        if (row is null || row.View.Status != InvitationStates.Pending || !SecretHash.Matches(secret, row.SecretHash))
        {
            return new InvitationOutcome(InvitationStatus.NotFound);
        }

        if (!string.Equals(row.View.Email, email, StringComparison.OrdinalIgnoreCase))
        {
            return new InvitationOutcome(InvitationStatus.EmailMismatch);
        }

        if (!emailVerified)
        {
            return new InvitationOutcome(InvitationStatus.EmailNotVerified);
        }

        if (_members.TryGetValue(userId, out var existing))
        {
            return new InvitationOutcome(InvitationStatus.AlreadyMember, row.View, Member: existing, Organization: View());
        }

        var member = new MemberView(userId, row.View.Role, Now());
        await store.AcceptInvitationAsync(_organization.Id, invitationId, member,
            EventBodies.ForMembership(WebhookEventTypes.MembershipCreated, _organization.Id, member, member.JoinedAt));
        _members[userId] = member;
        if (OrgRoles.AtLeast(member.Role, OrgRoles.Admin))
        {
            await ForgetEverywhereAsync();
        }

        return new InvitationOutcome(InvitationStatus.Done, row.View with { Status = InvitationStates.Accepted, AcceptedAt = member.JoinedAt },
            Member: member, Organization: View());
    }

    private Task ForgetEverywhereAsync() => _holders.ForgetEverywhereAsync(Id, logger);

    private string? RoleOf(string userId) =>
        _organization is not null && _members.TryGetValue(userId, out var member) ? member.Role : null;

    /// <summary>Null when the actor has <paramref name="needed"/>; otherwise the refusal (404 for outsiders).</summary>
    private OrganizationOutcome? Check(string actorId, string needed) => RoleOf(actorId) switch
    {
        null => new OrganizationOutcome(OrganizationStatus.NotFound),
        var role when !OrgRoles.AtLeast(role, needed) => new OrganizationOutcome(OrganizationStatus.Forbidden),
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
