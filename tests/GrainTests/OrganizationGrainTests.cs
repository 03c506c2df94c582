using ApiPlatform.Grains;
using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Organizations;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace ApiPlatform.GrainTests;

/// <summary>
/// The organization grain's own workflows: creating under a slug, changing the slug and deleting, each one call, and
/// each finished after a crash. A crash is played by writing the workflow's persisted mark as it stands when a silo
/// dies midway and dropping the activation; the next call (or the reminder) must finish the workflow.
/// </summary>
public sealed class OrganizationGrainTests(ClusterFixture fixture)
{
    private const int MaxOwned = 10;

    private static string NewSlug() => "org-" + Guid.NewGuid().ToString("N")[..12];

    private IUniqueIndexGrain SlugIndex(string slug) => fixture.Grains.GetGrain<IUniqueIndexGrain>(UniqueKeys.Slug(slug));

    private async Task<(IOrganizationGrain Organization, string OwnerId, string Slug)> CreateAsync()
    {
        var id = Ids.New(Ids.Organization);
        var owner = Ids.New(Ids.User);
        var slug = NewSlug();
        var organization = fixture.Grains.GetGrain<IOrganizationGrain>(id);
        var outcome = await organization.CreateAsync("Acme", slug, "free", owner, MaxOwned);
        Assert.Equal(OrganizationStatus.Done, outcome.Status);
        Assert.Equal(id, await SlugIndex(slug).GetOwnerAsync());
        return (organization, owner, slug);
    }

    private async Task<string> AddKeyAsync(string ownerId, string creatorId)
    {
        var keyId = Ids.New(Ids.ApiKey);
        var outcome = await fixture.Grains.GetGrain<IApiKeyRegistryGrain>(ownerId)
            .CreateAsync(keyId, new NewApiKey(ownerId, creatorId, "key", null, ApiKeyScopes.Default, null), 5);
        Assert.Equal(ApiKeyCreateStatus.Created, outcome.Status);
        return keyId;
    }

    private IGrainStorage Storage => fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Main);

    private async Task<GrainState<OrganizationWorkState>> StoredWorkAsync(IOrganizationGrain organization)
    {
        var state = new GrainState<OrganizationWorkState>(new OrganizationWorkState());
        await Storage.ReadStateAsync("organization", organization.GetGrainId(), state);
        return state;
    }

    /// <summary>Leaves the grain as a silo that died midway would: its mark stored, no activation.</summary>
    private async Task CrashWithAsync(IOrganizationGrain organization, OrganizationWorkState mark)
    {
        await fixture.DeactivateAsync(organization);
        var state = await StoredWorkAsync(organization);
        state.State = mark;
        await Storage.WriteStateAsync("organization", organization.GetGrainId(), state);
    }

    private async Task<long> CountRowsAsync(string sql, string id)
    {
        await using var command = fixture.Database.CreateCommand(sql);
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@id";
        parameter.Value = id;
        command.Parameters.Add(parameter);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task AssertDeletedAsync(IOrganizationGrain organization, string ownerId, string slug, string keyId)
    {
        var id = organization.GetPrimaryKeyString();
        Assert.Equal(OrganizationStatus.NotFound, (await organization.GetAsync(ownerId)).Status);
        Assert.False(await organization.ExistsAsync());
        Assert.Equal(0, await CountRowsAsync("SELECT COUNT(*) FROM organizations WHERE id = @id", id));
        Assert.Equal(0, await CountRowsAsync("SELECT COUNT(*) FROM memberships WHERE org_id = @id", id));
        Assert.Equal(ApiKeyStatus.Revoked, (await fixture.Grains.GetGrain<IApiKeyGrain>(keyId).GetAsync())!.Status);
        var refused = await fixture.Grains.GetGrain<IApiKeyRegistryGrain>(id)
            .CreateAsync(Ids.New(Ids.ApiKey), new NewApiKey(id, ownerId, "late", null, ApiKeyScopes.Default, null), 5);
        Assert.Equal(ApiKeyCreateStatus.OwnerDeleted, refused.Status);
        Assert.Null(await SlugIndex(slug).GetOwnerAsync());
        Assert.True(await SlugIndex(slug).TryClaimAsync(Ids.New(Ids.Organization)));
    }

    [Fact]
    public async Task Create_claims_the_slug_and_a_taken_slug_is_refused_without_rows()
    {
        var (_, _, slug) = await CreateAsync();
        var second = fixture.Grains.GetGrain<IOrganizationGrain>(Ids.New(Ids.Organization));

        Assert.Equal(OrganizationStatus.SlugTaken, (await second.CreateAsync("Other", slug, "free", Ids.New(Ids.User), MaxOwned)).Status);
        Assert.Equal(0, await CountRowsAsync("SELECT COUNT(*) FROM organizations WHERE id = @id", second.GetPrimaryKeyString()));
    }

    [Fact]
    public async Task Create_over_the_owners_cap_frees_the_slug()
    {
        var owner = Ids.New(Ids.User);
        var slug = NewSlug();
        var organization = fixture.Grains.GetGrain<IOrganizationGrain>(Ids.New(Ids.Organization));

        Assert.Equal(OrganizationStatus.PlanLimitReached, (await organization.CreateAsync("Acme", slug, "free", owner, maxOwned: 0)).Status);
        Assert.Null(await SlugIndex(slug).GetOwnerAsync());
        Assert.True(await SlugIndex(slug).TryClaimAsync(Ids.New(Ids.Organization)));
    }

    [Fact]
    public async Task Changing_the_slug_takes_the_new_one_and_frees_the_old_in_one_call()
    {
        var (organization, owner, slug) = await CreateAsync();
        var id = organization.GetPrimaryKeyString();
        var next = NewSlug();

        var outcome = await organization.UpdateAsync(owner, new OrganizationUpdate("Renamed", next, null));

        Assert.Equal(OrganizationStatus.Done, outcome.Status);
        Assert.Equal(("Renamed", next), (outcome.Organization!.Name, outcome.Organization.Slug));
        Assert.Equal(OrgRoles.Owner, outcome.Member!.Role);
        Assert.Equal(id, await SlugIndex(next).GetOwnerAsync());
        Assert.Null(await SlugIndex(slug).GetOwnerAsync());
    }

    [Fact]
    public async Task A_slug_another_organization_holds_is_refused_and_nothing_changes()
    {
        var (organization, owner, slug) = await CreateAsync();
        var (_, _, taken) = await CreateAsync();

        var outcome = await organization.UpdateAsync(owner, new OrganizationUpdate("Renamed", taken, null));

        Assert.Equal(OrganizationStatus.SlugTaken, outcome.Status);
        var current = (await organization.GetAsync(owner)).Organization!;
        Assert.Equal(("Acme", slug), (current.Name, current.Slug));
        Assert.Equal(organization.GetPrimaryKeyString(), await SlugIndex(slug).GetOwnerAsync());
        Assert.NotEqual(organization.GetPrimaryKeyString(), await SlugIndex(taken).GetOwnerAsync());
    }

    [Fact]
    public async Task Only_owners_change_name_or_slug_and_a_plan_alone_needs_no_membership()
    {
        var (organization, owner, _) = await CreateAsync();
        var outsider = Ids.New(Ids.User);

        Assert.Equal(OrganizationStatus.NotFound, (await organization.UpdateAsync(outsider, new OrganizationUpdate("x", null, null))).Status);
        var planned = await organization.UpdateAsync(outsider, new OrganizationUpdate(null, null, "pro"));
        Assert.Equal(OrganizationStatus.Done, planned.Status);
        Assert.Equal("pro", planned.Organization!.Plan);
        Assert.Null(planned.Member);
        Assert.Equal("pro", (await organization.GetMembershipAsync(owner))!.Plan);
    }

    [Fact]
    public async Task A_slug_change_cut_short_after_its_claim_is_undone_by_the_next_call()
    {
        var (organization, owner, slug) = await CreateAsync();
        var id = organization.GetPrimaryKeyString();
        var next = NewSlug();
        Assert.True(await SlugIndex(next).TryClaimAsync(id));
        await CrashWithAsync(organization, new OrganizationWorkState { SlugFrom = slug, SlugTo = next });

        var current = (await organization.GetAsync(owner)).Organization!;

        Assert.Equal(slug, current.Slug);
        Assert.Equal(id, await SlugIndex(slug).GetOwnerAsync());
        Assert.True(await SlugIndex(next).TryClaimAsync(Ids.New(Ids.Organization)), "the abandoned claim is released");
    }

    [Fact]
    public async Task Deleting_revokes_the_keys_closes_the_registry_deletes_the_rows_and_frees_the_slug()
    {
        var (organization, owner, slug) = await CreateAsync();
        var keyId = await AddKeyAsync(organization.GetPrimaryKeyString(), owner);

        Assert.Equal(OrganizationStatus.Done, (await organization.DeleteAsync(owner)).Status);

        await AssertDeletedAsync(organization, owner, slug, keyId);
    }

    [Fact]
    public async Task A_deletion_cut_short_after_its_mark_is_finished_before_the_next_call_is_answered()
    {
        var (organization, owner, slug) = await CreateAsync();
        var keyId = await AddKeyAsync(organization.GetPrimaryKeyString(), owner);
        await CrashWithAsync(organization, new OrganizationWorkState { Deleting = true, DeletingSlug = slug });

        // The very first call after the crash already finds the organization gone, everything with it.
        Assert.Null(await organization.GetMembershipAsync(owner));

        await AssertDeletedAsync(organization, owner, slug, keyId);
    }

    [Fact]
    public async Task A_deletion_cut_short_after_its_rows_went_is_finished_by_the_reminder()
    {
        var (organization, owner, slug) = await CreateAsync();
        var id = organization.GetPrimaryKeyString();
        var keyId = await AddKeyAsync(id, owner);
        await fixture.Grains.GetGrain<IApiKeyRegistryGrain>(id).CloseAsync();
        await fixture.ExecuteSqlAsync($"DELETE FROM memberships WHERE org_id = '{id}'; DELETE FROM organizations WHERE id = '{id}';");
        await CrashWithAsync(organization, new OrganizationWorkState { Deleting = true, DeletingSlug = slug });

        await organization.AsReference<IRemindable>().ReceiveReminder(OrganizationGrain.ResumeReminder, default, TestContext.Current.CancellationToken);

        // Finished by the reminder alone: the mark is gone and the slug free before anyone asks the organization.
        Assert.False((await StoredWorkAsync(organization)).State?.Deleting ?? false);
        Assert.Null(await SlugIndex(slug).GetOwnerAsync());
        await AssertDeletedAsync(organization, owner, slug, keyId);
    }

    [Fact]
    public async Task Deleting_twice_answers_not_found_the_second_time()
    {
        var (organization, owner, _) = await CreateAsync();

        Assert.Equal(OrganizationStatus.Done, (await organization.DeleteAsync(owner)).Status);
        Assert.Equal(OrganizationStatus.NotFound, (await organization.DeleteAsync(owner)).Status);
    }

    [Fact]
    public async Task Keys_created_while_the_organization_is_deleted_never_outlive_it()
    {
        var (organization, owner, slug) = await CreateAsync();
        var id = organization.GetPrimaryKeyString();
        var registry = fixture.Grains.GetGrain<IApiKeyRegistryGrain>(id);
        var creates = Enumerable.Range(0, 8).Select(_ =>
            registry.CreateAsync(Ids.New(Ids.ApiKey), new NewApiKey(id, owner, "racing", null, ApiKeyScopes.Default, null), 20)).ToList();
        var deletion = organization.DeleteAsync(owner);
        var outcomes = await Task.WhenAll(creates);
        Assert.Equal(OrganizationStatus.Done, (await deletion).Status);

        foreach (var created in outcomes.Where(o => o.Status == ApiKeyCreateStatus.Created))
        {
            Assert.Equal(ApiKeyStatus.Revoked, (await fixture.Grains.GetGrain<IApiKeyGrain>(created.Key!.Key.Id).GetAsync())!.Status);
        }

        Assert.All(outcomes, o => Assert.Contains(o.Status, new[] { ApiKeyCreateStatus.Created, ApiKeyCreateStatus.OwnerDeleted }));
        Assert.Equal(0, await registry.CountActiveAsync());
        Assert.Null(await SlugIndex(slug).GetOwnerAsync());
    }

    [Fact]
    public async Task An_organization_created_again_under_a_deleted_id_can_make_keys()
    {
        var (organization, owner, _) = await CreateAsync();
        Assert.Equal(OrganizationStatus.Done, (await organization.DeleteAsync(owner)).Status);

        Assert.Equal(OrganizationStatus.Done, (await organization.CreateAsync("Again", NewSlug(), "free", owner, MaxOwned)).Status);

        await AddKeyAsync(organization.GetPrimaryKeyString(), owner);
    }
}
