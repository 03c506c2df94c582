using ApiPlatform.Grains;
using ApiPlatform.Grains.Identity;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace ApiPlatform.GrainTests;

public sealed class UniqueIndexGrainTests(ClusterFixture fixture)
{
    private static string NewKey() => UniqueKeys.Email($"{Guid.NewGuid():N}@example.test");

    private IUniqueIndexGrain NewIndex() => fixture.Grains.GetGrain<IUniqueIndexGrain>(NewKey());

    [Fact]
    public async Task Exactly_one_of_concurrent_claims_wins()
    {
        var index = NewIndex();
        var owners = Enumerable.Range(0, 20).Select(i => $"usr_owner{i}").ToList();

        var results = await Task.WhenAll(owners.Select(index.TryClaimAsync));

        Assert.Single(results, won => won);
        var winner = owners[Array.IndexOf(results, true)];
        Assert.True(await index.TryClaimAsync(winner));
        foreach (var loser in owners.Where(o => o != winner))
        {
            Assert.False(await index.TryClaimAsync(loser));
        }
    }

    [Fact]
    public async Task The_database_refuses_a_value_another_owner_holds_there_even_when_the_grain_does_not_know_it()
    {
        // As left by a second activation of the same key, or any path past this grain: the row exists, the grain's own
        // state does not.
        var key = NewKey();
        await new UniqueClaimStore(fixture.Database).ClaimAsync(key, "usr_first", fixture.Time.GetUtcNow(), DateTimeOffset.MinValue);
        await new UniqueClaimStore(fixture.Database).ConfirmAsync(key, "usr_first");
        var index = fixture.Grains.GetGrain<IUniqueIndexGrain>(key);

        Assert.False(await index.TryClaimAsync("usr_second"));
        Assert.Equal("usr_first", (await new UniqueClaimStore(fixture.Database).GetAsync(key))?.OwnerId);
    }

    [Fact]
    public async Task Claims_confirmations_and_releases_reach_the_database()
    {
        var key = NewKey();
        var index = fixture.Grains.GetGrain<IUniqueIndexGrain>(key);
        var store = new UniqueClaimStore(fixture.Database);

        Assert.True(await index.TryClaimAsync("usr_a"));
        Assert.Equal(("usr_a", false), (await store.GetAsync(key)) is { } pending ? (pending.OwnerId, pending.Confirmed) : default);
        await index.ConfirmAsync("usr_a");
        Assert.True((await store.GetAsync(key))!.Value.Confirmed);
        await index.ReleaseAsync("usr_a");
        Assert.Null(await store.GetAsync(key));
        Assert.True(await index.TryClaimAsync("usr_b"));
    }

    [Fact]
    public async Task Owner_may_claim_again()
    {
        var index = NewIndex();

        Assert.True(await index.TryClaimAsync("usr_a"));
        Assert.True(await index.TryClaimAsync("usr_a"));
        await index.ConfirmAsync("usr_a");
        Assert.True(await index.TryClaimAsync("usr_a"));
        Assert.Equal("usr_a", await index.GetOwnerAsync());
    }

    [Fact]
    public async Task Owner_is_unknown_until_the_claim_is_confirmed()
    {
        var index = NewIndex();
        Assert.Null(await index.GetOwnerAsync());

        Assert.True(await index.TryClaimAsync("usr_a"));
        Assert.Null(await index.GetOwnerAsync());

        await index.ConfirmAsync("usr_a");
        Assert.Equal("usr_a", await index.GetOwnerAsync());
    }

    [Fact]
    public async Task Confirm_by_another_owner_does_nothing()
    {
        var index = NewIndex();
        Assert.True(await index.TryClaimAsync("usr_a"));

        await index.ConfirmAsync("usr_b");

        Assert.Null(await index.GetOwnerAsync());
        Assert.False(await index.TryClaimAsync("usr_b"));
    }

    [Fact]
    public async Task Release_by_another_owner_does_nothing()
    {
        var index = NewIndex();
        Assert.True(await index.TryClaimAsync("usr_a"));
        await index.ConfirmAsync("usr_a");

        await index.ReleaseAsync("usr_b");

        Assert.Equal("usr_a", await index.GetOwnerAsync());
        Assert.False(await index.TryClaimAsync("usr_b"));
    }

    [Fact]
    public async Task After_release_another_owner_can_claim()
    {
        var index = NewIndex();
        Assert.True(await index.TryClaimAsync("usr_a"));
        await index.ConfirmAsync("usr_a");

        await index.ReleaseAsync("usr_a");

        Assert.Null(await index.GetOwnerAsync());
        Assert.True(await index.TryClaimAsync("usr_b"));
        await index.ConfirmAsync("usr_b");
        Assert.Equal("usr_b", await index.GetOwnerAsync());
    }

    [Fact]
    public async Task Unconfirmed_claim_is_kept_until_its_lifetime_has_passed()
    {
        var index = NewIndex();
        Assert.True(await index.TryClaimAsync("usr_a"));

        fixture.Time.Advance(UniqueIndexGrain.PendingClaimLifetime - TimeSpan.FromSeconds(1));

        Assert.False(await index.TryClaimAsync("usr_b"));
    }

    [Fact]
    public async Task Unconfirmed_claim_older_than_its_lifetime_can_be_taken_over()
    {
        var index = NewIndex();
        Assert.True(await index.TryClaimAsync("usr_a"));

        fixture.Time.Advance(UniqueIndexGrain.PendingClaimLifetime);

        Assert.True(await index.TryClaimAsync("usr_b"));
        // The first claimant lost the value: its late confirmation must not take it back.
        await index.ConfirmAsync("usr_a");
        Assert.Null(await index.GetOwnerAsync());
        Assert.False(await index.TryClaimAsync("usr_a"));
        await index.ConfirmAsync("usr_b");
        Assert.Equal("usr_b", await index.GetOwnerAsync());
    }

    [Fact]
    public async Task Confirmed_claim_is_never_taken_over()
    {
        var index = NewIndex();
        Assert.True(await index.TryClaimAsync("usr_a"));
        await index.ConfirmAsync("usr_a");

        fixture.Time.Advance(UniqueIndexGrain.PendingClaimLifetime * 100);

        Assert.False(await index.TryClaimAsync("usr_b"));
        Assert.Equal("usr_a", await index.GetOwnerAsync());
    }

    [Fact]
    public async Task Confirmed_claim_survives_deactivation()
    {
        var index = NewIndex();
        Assert.True(await index.TryClaimAsync("usr_a"));
        await index.ConfirmAsync("usr_a");

        await fixture.DeactivateAsync(index);

        Assert.Equal("usr_a", await index.GetOwnerAsync());
        Assert.False(await index.TryClaimAsync("usr_b"));
    }

    // Two activations of one key can exist for a moment while a cluster forms. These tests play the other
    // activation by writing the grain's storage directly, under the live activation.
    private async Task WriteAsOtherActivationAsync(IUniqueIndexGrain index, UniqueIndexState written)
    {
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Main);
        var current = new GrainState<UniqueIndexState>(new UniqueIndexState());
        await storage.ReadStateAsync("unique", index.GetGrainId(), current);
        current.State = written;
        await storage.WriteStateAsync("unique", index.GetGrainId(), current);
    }

    [Fact]
    public async Task Pending_claim_is_reread_so_a_confirmation_by_another_activation_is_seen()
    {
        var index = NewIndex();
        Assert.True(await index.TryClaimAsync("usr_a"));
        Assert.Null(await index.GetOwnerAsync());

        await WriteAsOtherActivationAsync(index, new UniqueIndexState { OwnerId = "usr_a", Confirmed = true, ClaimedAt = fixture.Time.GetUtcNow() });

        Assert.Equal("usr_a", await index.GetOwnerAsync());
    }

    [Fact]
    public async Task Claim_racing_another_activation_loses_instead_of_failing()
    {
        var index = NewIndex();
        Assert.Null(await index.GetOwnerAsync()); // activated, holding "unclaimed"

        await WriteAsOtherActivationAsync(index, new UniqueIndexState { OwnerId = "usr_other", Confirmed = true, ClaimedAt = fixture.Time.GetUtcNow() });

        Assert.False(await index.TryClaimAsync("usr_mine"));
        Assert.Equal("usr_other", await index.GetOwnerAsync());
    }

    [Fact]
    public async Task Confirm_after_another_activation_wrote_rereads_and_confirms_its_own_claim()
    {
        var index = NewIndex();
        Assert.True(await index.TryClaimAsync("usr_a"));

        // The other activation rewrote the same pending claim (new ETag); this activation's copy is stale.
        await WriteAsOtherActivationAsync(index, new UniqueIndexState { OwnerId = "usr_a", Confirmed = false, ClaimedAt = fixture.Time.GetUtcNow() });

        await index.ConfirmAsync("usr_a");
        Assert.Equal("usr_a", await index.GetOwnerAsync());
    }
}
