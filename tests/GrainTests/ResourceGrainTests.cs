using System.Text.Json.Nodes;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Resources;

namespace ApiPlatform.GrainTests;

public sealed class ResourceGrainTests(ClusterFixture fixture)
{
    private const string RedMetadata = """{"color":"red"}""";

    private static string NewOwner() => Ids.New(Ids.User);

    private (string Id, IResourceGrain Grain) NewResource()
    {
        var id = Ids.New(Ids.Resource);
        return (id, fixture.Grains.GetGrain<IResourceGrain>(id));
    }

    private static ResourceDraft Draft(string owner, string name = "Widget", string? description = "A widget", string type = "standard",
        string status = ResourceStatus.Active, string metadata = RedMetadata) =>
        new(owner, name, description, type, status, metadata);

    private static ResourcePatch Patch(string? name = null, string? description = null, bool clearDescription = false, string? type = null,
        string? status = null, string? metadata = null) =>
        new(name, description, clearDescription, type, status, metadata);

    /// <summary>The product clock as the store keeps it: whole microseconds.</summary>
    private DateTimeOffset Now()
    {
        var now = fixture.Time.GetUtcNow();
        return new DateTimeOffset(now.UtcTicks - now.UtcTicks % 10, TimeSpan.Zero);
    }

    /// <summary>
    /// Moves the product clock by about <paramref name="seconds"/> to a time with sub-microsecond ticks, so truncation is
    /// always exercised. The clock is shared and other tests leave it anywhere (some on whole seconds), so the landing
    /// point is chosen, not the step: a fixed step could land on a whole microsecond.
    /// </summary>
    private void Tick(int seconds = 1)
    {
        var step = TimeSpan.FromSeconds(seconds).Ticks + 1_234_560;
        var landing = fixture.Time.GetUtcNow().UtcTicks + step;
        fixture.Time.Advance(TimeSpan.FromTicks(step + (7 - landing % 10 + 10) % 10));
    }

    /// <summary>Creates resource <paramref name="id"/> the way the gateway does: through the silo's creator worker.</summary>
    private Task<ResourceWriteOutcome> CreateAsync(string id, ResourceDraft draft, long cap, IGrainFactory? factory = null) =>
        (factory ?? fixture.Grains).GetGrain<IResourceCreatorWorker>(0).CreateAsync(id, draft, cap);

    private async Task<(string Id, IResourceGrain Grain, ResourceView View)> CreatedAsync(string owner, ResourceDraft? draft = null)
    {
        var (id, grain) = NewResource();
        var result = await CreateAsync(id, draft ?? Draft(owner), long.MaxValue);
        Assert.Equal(ResourceWriteStatus.Done, result.Status);
        return (id, grain, result.Resource!);
    }

    private Task<long> CountAsync(string owner) => fixture.Grains.GetGrain<IResourceQueryWorker>(0).CountAsync(owner);

    private Task<ResourcePage> ListAsync(string owner, string? status = null, string? type = null) =>
        fixture.Grains.GetGrain<IResourceQueryWorker>(0).QueryAsync(
            new ResourceQuery(owner, status, type, [new SortKey("created_at", true)], 0, 100, null));

    /// <summary>The grain's answer and the stored row must be the same resource.</summary>
    private async Task AssertStoredAsync(IResourceGrain grain, string id, string owner)
    {
        Assert.Equal(await grain.GetAsync(owner), await fixture.Resources.LoadAsync(id));
    }

    private static void AssertJsonEqual(string expected, string actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), $"Expected {expected} but got {actual}.");

    [Fact]
    public async Task Created_resource_has_version_one_and_the_clock_time_to_the_microsecond()
    {
        var owner = NewOwner();
        var (id, grain) = NewResource();
        Tick();
        var now = Now();
        Assert.NotEqual(now, fixture.Time.GetUtcNow());

        var result = await CreateAsync(id, Draft(owner, metadata: """{"color":"red","tags":["a","b"]}"""), 10);

        Assert.Equal(ResourceWriteStatus.Done, result.Status);
        var expected = new ResourceView(id, owner, "Widget", "A widget", "standard", ResourceStatus.Active,
            """{"color":"red","tags":["a","b"]}""", now, now, 1);
        Assert.Equal(expected, result.Resource);
        Assert.Equal(expected, await grain.GetAsync(owner));
        Assert.Equal(expected, await fixture.Resources.LoadAsync(id));
    }

    [Fact]
    public async Task Another_owner_sees_no_resource()
    {
        var owner = NewOwner();
        var (_, grain, _) = await CreatedAsync(owner);

        Assert.Null(await grain.GetAsync(NewOwner()));
    }

    [Fact]
    public async Task Another_owner_cannot_update_or_delete_and_nothing_changes()
    {
        var owner = NewOwner();
        var stranger = NewOwner();
        var (id, grain, created) = await CreatedAsync(owner);

        var update = await grain.UpdateAsync(stranger, Patch(name: "Stolen", metadata: """{"color":"black"}"""), ResourcePrecondition.None);
        var delete = await grain.DeleteAsync(stranger, ResourcePrecondition.None);

        Assert.Equal(ResourceWriteOutcome.Of(ResourceWriteStatus.NotFound), update);
        Assert.Equal(ResourceWriteOutcome.Of(ResourceWriteStatus.NotFound), delete);
        Assert.Equal(ResourceWriteStatus.NotFound, (await grain.UpdateAsync(stranger, Patch(name: "x"), created.Version)).Status);
        Assert.Equal(created, await grain.GetAsync(owner));
        Assert.Equal(created, await fixture.Resources.LoadAsync(id));
        Assert.Equal(1, await CountAsync(owner));
        Assert.Equal(0, await CountAsync(stranger));
    }

    [Fact]
    public async Task Create_at_the_plan_cap_is_refused_and_writes_nothing()
    {
        var owner = NewOwner();
        for (var i = 0; i < 3; i++)
        {
            await CreatedAsync(owner);
        }

        Assert.Equal(3, await CountAsync(owner));

        var (id, grain) = NewResource();
        var refused = await CreateAsync(id, Draft(owner), 3);

        Assert.Equal(ResourceWriteOutcome.Of(ResourceWriteStatus.PlanLimitReached), refused);
        Assert.Null(await grain.GetAsync(owner));
        Assert.Null(await fixture.Resources.LoadAsync(id));
        Assert.Equal(3, await CountAsync(owner));

        // One more allowed: the same id now succeeds, and the count follows exactly.
        var created = await CreateAsync(id, Draft(owner), 4);
        Assert.Equal(ResourceWriteStatus.Done, created.Status);
        Assert.Equal(created.Resource, await grain.GetAsync(owner));
        Assert.Equal(4, await CountAsync(owner));
        Assert.Equal(ResourceWriteStatus.PlanLimitReached, (await CreateAsync(Ids.New(Ids.Resource), Draft(owner), 4)).Status);
        Assert.Equal(ResourceWriteStatus.PlanLimitReached, (await CreateAsync(Ids.New(Ids.Resource), Draft(NewOwner()), 0)).Status);
        Assert.Equal(4, await CountAsync(owner));
    }

    [Fact]
    public async Task A_read_before_the_create_does_not_hide_the_resource()
    {
        var owner = NewOwner();
        var (id, grain) = NewResource();
        Assert.Null(await grain.GetAsync(owner));
        Assert.Equal(ResourceWriteStatus.NotFound, (await grain.UpdateAsync(owner, Patch(name: "x"), ResourcePrecondition.None)).Status);

        var created = await CreateAsync(id, Draft(owner), 10);

        Assert.Equal(ResourceWriteStatus.Done, created.Status);
        Assert.Equal(created.Resource, await grain.GetAsync(owner));
        var updated = await grain.UpdateAsync(owner, Patch(name: "renamed"), 1);
        Assert.Equal(ResourceWriteStatus.Done, updated.Status);
        Assert.Equal(2, updated.Resource!.Version);
        await AssertStoredAsync(grain, id, owner);
    }

    [Fact]
    public async Task Concurrent_creates_never_exceed_the_plan_cap()
    {
        var owner = NewOwner();
        var factories = fixture.AllFactories;
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() =>
            CreateAsync(Ids.New(Ids.Resource), Draft(owner, name: $"r{i}"), 5, factories[i % factories.Count]))));

        Assert.Equal(5, results.Count(r => r.Status == ResourceWriteStatus.Done));
        Assert.Equal(7, results.Count(r => r.Status == ResourceWriteStatus.PlanLimitReached));
        Assert.Equal(5, await CountAsync(owner));
        var page = await ListAsync(owner);
        Assert.Equal(5, page.Total);
        Assert.Equal(results.Where(r => r.Resource is not null).Select(r => r.Resource!.Id).Order(), page.Items.Select(r => r.Id).Order());
    }

    [Fact]
    public async Task Second_create_on_the_same_id_answers_already_exists()
    {
        var owner = NewOwner();
        var (id, grain, created) = await CreatedAsync(owner);

        var again = await CreateAsync(id, Draft(owner, name: "Other", status: ResourceStatus.Archived), 100);
        var stranger = await CreateAsync(id, Draft(NewOwner(), name: "Mine now"), 100);

        Assert.Equal(new ResourceWriteOutcome(ResourceWriteStatus.AlreadyExists, created), again);
        Assert.Equal(ResourceWriteOutcome.Of(ResourceWriteStatus.AlreadyExists), stranger);
        Assert.Equal(created, await grain.GetAsync(owner));
        Assert.Equal(created, await fixture.Resources.LoadAsync(id));
        Assert.Equal(1, await CountAsync(owner));
    }

    [Fact]
    public async Task Update_changes_only_the_named_fields_and_moves_version_and_updated_at()
    {
        var owner = NewOwner();
        var (id, grain, created) = await CreatedAsync(owner);

        Tick();
        var renamed = await grain.UpdateAsync(owner, Patch(name: "Gadget"), ResourcePrecondition.None);
        Assert.Equal(ResourceWriteStatus.Done, renamed.Status);
        Assert.Equal(created with { Name = "Gadget", UpdatedAt = Now(), Version = 2 }, renamed.Resource);
        await AssertStoredAsync(grain, id, owner);

        Tick();
        var moved = await grain.UpdateAsync(owner, Patch(type: "premium", status: ResourceStatus.Inactive), ResourcePrecondition.None);
        Assert.Equal(renamed.Resource! with { Type = "premium", Status = ResourceStatus.Inactive, UpdatedAt = Now(), Version = 3 }, moved.Resource);
        await AssertStoredAsync(grain, id, owner);

        Tick();
        var described = await grain.UpdateAsync(owner, Patch(description: "Shiny"), ResourcePrecondition.None);
        Assert.Equal(moved.Resource! with { Description = "Shiny", UpdatedAt = Now(), Version = 4 }, described.Resource);

        Tick();
        var cleared = await grain.UpdateAsync(owner, Patch(clearDescription: true), ResourcePrecondition.None);
        Assert.Equal(described.Resource! with { Description = null, UpdatedAt = Now(), Version = 5 }, cleared.Resource);
        Assert.Equal(created.CreatedAt, cleared.Resource!.CreatedAt);
        Assert.True(cleared.Resource.UpdatedAt > created.UpdatedAt);
        await AssertStoredAsync(grain, id, owner);
        Assert.Equal(cleared.Resource, await grain.GetAsync(owner));

        // The counters follow the type and status change.
        Assert.Equal(1, await CountAsync(owner));
        Assert.Equal(1, (await ListAsync(owner, ResourceStatus.Inactive, "premium")).Total);
        Assert.Equal(0, (await ListAsync(owner, ResourceStatus.Active)).Total);
    }

    [Theory]
    // RFC 7396, appendix A (the cases whose target and result are objects), plus a deeper merge.
    [InlineData("""{"a":"b"}""", """{"a":"c"}""", """{"a":"c"}""")]
    [InlineData("""{"a":"b"}""", """{"b":"c"}""", """{"a":"b","b":"c"}""")]
    [InlineData("""{"a":"b"}""", """{"a":null}""", """{}""")]
    [InlineData("""{"a":"b","b":"c"}""", """{"a":null}""", """{"b":"c"}""")]
    [InlineData("""{"a":["b"]}""", """{"a":"c"}""", """{"a":"c"}""")]
    [InlineData("""{"a":"c"}""", """{"a":["b"]}""", """{"a":["b"]}""")]
    [InlineData("""{"a":{"b":"c"}}""", """{"a":{"b":"d","c":null}}""", """{"a":{"b":"d"}}""")]
    [InlineData("""{"a":[{"b":"c"}]}""", """{"a":[1]}""", """{"a":[1]}""")]
    [InlineData("""{"e":null}""", """{"a":1}""", """{"e":null,"a":1}""")]
    [InlineData("""{}""", """{"a":{"bb":{"ccc":null}}}""", """{"a":{"bb":{}}}""")]
    [InlineData("""{"a":"b","c":{"d":"e","f":"g","n":{"x":1,"y":2}},"arr":[1,2,3],"keep":true}""",
        """{"a":"z","c":{"f":null,"h":"i","n":{"y":null,"z":3}},"arr":[4],"new":{"x":[null]}}""",
        """{"a":"z","c":{"d":"e","h":"i","n":{"x":1,"z":3}},"arr":[4],"keep":true,"new":{"x":[null]}}""")]
    // A null patch (the gateway's "metadata": null) clears the object.
    [InlineData("""{"a":1}""", "null", """{}""")]
    public async Task Metadata_patch_merges_per_rfc_7396(string target, string patch, string expected)
    {
        var owner = NewOwner();
        var (id, grain, created) = await CreatedAsync(owner, Draft(owner, metadata: target));

        var result = await grain.UpdateAsync(owner, Patch(metadata: patch), ResourcePrecondition.None);

        Assert.Equal(ResourceWriteStatus.Done, result.Status);
        AssertJsonEqual(expected, result.Resource!.Metadata);
        Assert.Equal(created.Version + 1, result.Resource.Version);
        Assert.Equal(created with { Metadata = result.Resource.Metadata, Version = 2, UpdatedAt = result.Resource.UpdatedAt }, result.Resource);
        await AssertStoredAsync(grain, id, owner);
    }

    [Fact]
    public async Task Patch_that_changes_nothing_keeps_the_version_and_writes_nothing()
    {
        var owner = NewOwner();
        var (id, grain, created) = await CreatedAsync(owner, Draft(owner, metadata: """{"color":"red","size":{"w":1,"h":2}}"""));
        Tick();

        var empty = await grain.UpdateAsync(owner, Patch(), ResourcePrecondition.None);
        var same = await grain.UpdateAsync(owner, Patch(name: created.Name, description: created.Description, type: created.Type,
            status: created.Status, metadata: """{"color":"red","size":{"h":2},"gone":null}"""), created.Version);

        Assert.Equal(new ResourceWriteOutcome(ResourceWriteStatus.Done, created), empty);
        Assert.Equal(new ResourceWriteOutcome(ResourceWriteStatus.Done, created), same);
        Assert.Equal(created, await grain.GetAsync(owner));
        Assert.Equal(created, await fixture.Resources.LoadAsync(id));
    }

    /// <summary>
    /// The gateway hands the grain the client's metadata text as sent (<c>JsonElement.GetRawText()</c>), so a client
    /// that writes JSON with spaces (Python's <c>json.dumps</c>, for one) stores it with spaces. Restating a value it
    /// already has must still change nothing.
    /// </summary>
    [Fact]
    public async Task Patch_that_restates_metadata_stored_with_whitespace_keeps_the_version()
    {
        var owner = NewOwner();
        var (id, grain, created) = await CreatedAsync(owner, Draft(owner, metadata: """{"color": "red", "size": 3}"""));
        Tick();

        var same = await grain.UpdateAsync(owner, Patch(metadata: """{"color": "red"}"""), ResourcePrecondition.None);

        Assert.Equal(ResourceWriteStatus.Done, same.Status);
        Assert.Equal(created.Version, same.Resource!.Version);
        Assert.Equal(created.UpdatedAt, same.Resource.UpdatedAt);
        Assert.Equal(created.Version, (await fixture.Resources.LoadAsync(id))!.Version);
    }

    [Fact]
    public async Task Stale_expected_version_fails_the_precondition_and_writes_nothing()
    {
        var owner = NewOwner();
        var (id, grain, created) = await CreatedAsync(owner);
        var v2 = (await grain.UpdateAsync(owner, Patch(name: "v2"), created.Version)).Resource!;
        Assert.Equal(2, v2.Version);

        var stale = await grain.UpdateAsync(owner, Patch(name: "stale"), created.Version);
        var staleDelete = await grain.DeleteAsync(owner, created.Version);
        var ahead = await grain.UpdateAsync(owner, Patch(name: "ahead"), v2.Version + 1);

        Assert.Equal(new ResourceWriteOutcome(ResourceWriteStatus.PreconditionFailed, v2), stale);
        Assert.Equal(new ResourceWriteOutcome(ResourceWriteStatus.PreconditionFailed, v2), staleDelete);
        Assert.Equal(new ResourceWriteOutcome(ResourceWriteStatus.PreconditionFailed, v2), ahead);
        Assert.Equal(v2, await grain.GetAsync(owner));
        Assert.Equal(v2, await fixture.Resources.LoadAsync(id));

        var current = await grain.UpdateAsync(owner, Patch(name: "v3"), v2.Version);
        Assert.Equal(ResourceWriteStatus.Done, current.Status);
        Assert.Equal(3, current.Resource!.Version);
        Assert.Equal("v3", current.Resource.Name);
        await AssertStoredAsync(grain, id, owner);
    }

    [Fact]
    public async Task Concurrent_patches_never_lose_an_update()
    {
        var owner = NewOwner();
        var (id, grain, created) = await CreatedAsync(owner);
        var factories = fixture.AllFactories;

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() =>
            factories[i % factories.Count].GetGrain<IResourceGrain>(id).UpdateAsync(owner, Patch(metadata: $$"""{"k{{i}}": {{i}}}"""), ResourcePrecondition.None))));

        Assert.All(results, r => Assert.Equal(ResourceWriteStatus.Done, r.Status));
        // Each write got its own version: none was computed from a state another write had already replaced.
        Assert.Equal(Enumerable.Range(2, 50).Select(v => (long)v), results.Select(r => r.Resource!.Version).Order());
        var final = (await grain.GetAsync(owner))!;
        Assert.Equal(51, final.Version);
        var metadata = JsonNode.Parse(final.Metadata)!.AsObject();
        Assert.Equal(51, metadata.Count);
        Assert.Equal("red", metadata["color"]!.GetValue<string>());
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(i, metadata[$"k{i}"]!.GetValue<int>());
        }

        Assert.Equal(final, await fixture.Resources.LoadAsync(id));
        Assert.Equal(created.CreatedAt, final.CreatedAt);
    }

    [Fact]
    public async Task Concurrent_patches_at_the_same_expected_version_let_exactly_one_through()
    {
        var owner = NewOwner();
        var (id, grain, created) = await CreatedAsync(owner);
        var factories = fixture.AllFactories;

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() =>
            factories[i % factories.Count].GetGrain<IResourceGrain>(id)
                .UpdateAsync(owner, Patch(name: $"writer {i}", metadata: $$"""{"w{{i}}": true}"""), created.Version))));

        var winner = Assert.Single(results, r => r.Status == ResourceWriteStatus.Done).Resource!;
        Assert.Equal(2, winner.Version);
        Assert.Equal(19, results.Count(r => r.Status == ResourceWriteStatus.PreconditionFailed));
        Assert.All(results.Where(r => r.Status == ResourceWriteStatus.PreconditionFailed), r => Assert.Equal(winner, r.Resource));
        Assert.Equal(winner, await grain.GetAsync(owner));
        Assert.Equal(winner, await fixture.Resources.LoadAsync(id));
    }

    [Fact]
    public async Task State_survives_deactivation()
    {
        var owner = NewOwner();
        var (id, grain, _) = await CreatedAsync(owner);
        Tick();
        await grain.UpdateAsync(owner, Patch(description: "after", metadata: """{"n":{"deep":[1,2]}}"""), ResourcePrecondition.None);
        var before = await grain.GetAsync(owner);

        await fixture.DeactivateAsync(grain);

        Assert.Equal(before, await grain.GetAsync(owner));
        Assert.Null(await grain.GetAsync(NewOwner()));
        Assert.Equal(ResourceWriteStatus.AlreadyExists, (await CreateAsync(id, Draft(owner), 100)).Status);

        Tick();
        var next = await grain.UpdateAsync(owner, Patch(name: "reloaded"), before!.Version);
        Assert.Equal(ResourceWriteStatus.Done, next.Status);
        Assert.Equal(before with { Name = "reloaded", UpdatedAt = Now(), Version = before.Version + 1 }, next.Resource);
        await AssertStoredAsync(grain, id, owner);
    }

    [Fact]
    public async Task Deleted_resource_is_gone_from_get_count_and_list()
    {
        var owner = NewOwner();
        var (keptId, _, _) = await CreatedAsync(owner);
        var (id, grain, created) = await CreatedAsync(owner);
        Assert.Equal(2, await CountAsync(owner));

        var deleted = await grain.DeleteAsync(owner, created.Version);

        Assert.Equal(new ResourceWriteOutcome(ResourceWriteStatus.Done, created), deleted);
        Assert.Null(await grain.GetAsync(owner));
        Assert.Null(await fixture.Resources.LoadAsync(id));
        Assert.Equal(1, await CountAsync(owner));
        var page = await ListAsync(owner);
        Assert.Equal(1, page.Total);
        Assert.Equal([keptId], page.Items.Select(r => r.Id));
        Assert.Equal(ResourceWriteOutcome.Of(ResourceWriteStatus.NotFound), await grain.DeleteAsync(owner, ResourcePrecondition.None));
        Assert.Equal(ResourceWriteOutcome.Of(ResourceWriteStatus.NotFound), await grain.UpdateAsync(owner, Patch(name: "zombie"), ResourcePrecondition.None));
        Assert.Equal(1, await CountAsync(owner));
    }

    // Injected failures. The grain keeps its document and query columns in ONE row and writes it with ONE statement
    // before it touches memory or answers, so "the grain's state write succeeded but its query-table write did not"
    // cannot happen: there is no second write to lose. If the statement fails (a crash, a lost connection, here a
    // trigger that aborts it) the database keeps the old row whole, the call fails, the activation keeps the old
    // document, and a reload reads the same old row. If it succeeds, both the document and the lists see it. There is
    // nothing to repair.

    [Fact]
    public async Task Failed_update_changes_neither_memory_nor_table_nor_lists()
    {
        var owner = NewOwner();
        await CreatedAsync(owner);
        var (id, grain, created) = await CreatedAsync(owner);
        Tick();
        var trigger = $"t_fail_{Ids.Suffix(id)}";

        await fixture.ExecuteSqlAsync(
            $"CREATE TRIGGER {trigger} BEFORE UPDATE ON resources WHEN OLD.id = '{id}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() =>
                grain.UpdateAsync(owner, Patch(name: "changed", status: ResourceStatus.Archived, metadata: """{"x":1}"""), ResourcePrecondition.None));

            Assert.Equal(created, await grain.GetAsync(owner));
            Assert.Equal(created, await fixture.Resources.LoadAsync(id));
            Assert.Equal(2, await CountAsync(owner));
            Assert.Equal(2, (await ListAsync(owner, ResourceStatus.Active)).Total);
            Assert.Equal(0, (await ListAsync(owner, ResourceStatus.Archived)).Total);
            Assert.Contains(created, (await ListAsync(owner)).Items);

            // A retry during the outage fails the same way and still leaves everything as it was.
            await Assert.ThrowsAnyAsync<Exception>(() => grain.UpdateAsync(owner, Patch(name: "again"), created.Version));
            Assert.Equal(created, await grain.GetAsync(owner));
        }
        finally
        {
            await fixture.ExecuteSqlAsync($"DROP TRIGGER IF EXISTS {trigger};");
        }

        var next = await grain.UpdateAsync(owner, Patch(name: "changed", status: ResourceStatus.Archived), created.Version);

        Assert.Equal(ResourceWriteStatus.Done, next.Status);
        Assert.Equal(created with { Name = "changed", Status = ResourceStatus.Archived, UpdatedAt = Now(), Version = created.Version + 1 },
            next.Resource);
        await AssertStoredAsync(grain, id, owner);
        Assert.Equal(1, (await ListAsync(owner, ResourceStatus.Archived)).Total);
        Assert.Equal(1, (await ListAsync(owner, ResourceStatus.Active)).Total);
        Assert.Equal(2, await CountAsync(owner));
    }

    [Fact]
    public async Task Failed_delete_leaves_the_resource_in_place_and_counted()
    {
        var owner = NewOwner();
        var (id, grain, created) = await CreatedAsync(owner);
        var trigger = $"t_fail_{Ids.Suffix(id)}";

        await fixture.ExecuteSqlAsync(
            $"CREATE TRIGGER {trigger} BEFORE DELETE ON resources WHEN OLD.id = '{id}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => grain.DeleteAsync(owner, ResourcePrecondition.None));

            Assert.Equal(created, await grain.GetAsync(owner));
            Assert.Equal(created, await fixture.Resources.LoadAsync(id));
            Assert.Equal(1, await CountAsync(owner));
            Assert.Equal([created], (await ListAsync(owner)).Items);
        }
        finally
        {
            await fixture.ExecuteSqlAsync($"DROP TRIGGER IF EXISTS {trigger};");
        }

        // The activation and the table still agree after a reload.
        await fixture.DeactivateAsync(grain);
        Assert.Equal(created, await grain.GetAsync(owner));

        Assert.Equal(new ResourceWriteOutcome(ResourceWriteStatus.Done, created), await grain.DeleteAsync(owner, created.Version));
        Assert.Null(await grain.GetAsync(owner));
        Assert.Equal(0, await CountAsync(owner));
        Assert.Empty((await ListAsync(owner)).Items);
    }

    [Fact]
    public async Task An_if_match_set_travels_with_the_write_and_is_checked_in_the_same_call()
    {
        var owner = NewOwner();
        var (id, grain) = NewResource();
        Assert.Equal(ResourceWriteStatus.Done, (await CreateAsync(id, Draft(owner), 10)).Status);

        var missed = await grain.UpdateAsync(owner, Patch(name: "x"), ResourcePrecondition.OneOf([5, 7]));
        Assert.Equal(ResourceWriteStatus.PreconditionFailed, missed.Status);
        Assert.Equal(1, missed.Resource!.Version);

        var updated = await grain.UpdateAsync(owner, Patch(name: "x"), ResourcePrecondition.OneOf([5, 1]));
        Assert.Equal(ResourceWriteStatus.Done, updated.Status);
        Assert.Equal(ResourceWriteStatus.PreconditionFailed, (await grain.DeleteAsync(owner, ResourcePrecondition.OneOf([1, 3]))).Status);
        Assert.Equal(ResourceWriteStatus.Done, (await grain.DeleteAsync(owner, ResourcePrecondition.OneOf([2, 3]))).Status);
    }
}
