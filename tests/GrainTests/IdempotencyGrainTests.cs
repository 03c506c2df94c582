using ApiPlatform.Grains;
using ApiPlatform.Grains.Idempotency;

namespace ApiPlatform.GrainTests;

public sealed class IdempotencyGrainTests(ClusterFixture fixture)
{
    private const string Hash = "sha256:first-request";
    private const string OtherHash = "sha256:other-request";

    private static readonly StoredResponse Created = new(201,
        new Dictionary<string, string> { ["Location"] = "/v1/resources/res_1", ["ETag"] = "\"1\"" },
        """{"data":{"id":"res_1"}}""");

    private (string Owner, string Key, IIdempotencyGrain Grain) NewKey()
    {
        var owner = Ids.New(Ids.User);
        var key = Ids.RandomToken(16);
        return (owner, key, fixture.Grains.GetGrain<IIdempotencyGrain>($"{owner}:{key}"));
    }

    private static void AssertReplay(IdempotencyOutcome begin, StoredResponse expected)
    {
        Assert.Equal(IdempotencyStatus.Replay, begin.Status);
        var response = Assert.IsType<StoredResponse>(begin.Response);
        Assert.Equal(expected.Status, response.Status);
        Assert.Equal(expected.Headers.OrderBy(h => h.Key, StringComparer.Ordinal), response.Headers.OrderBy(h => h.Key, StringComparer.Ordinal));
        Assert.Equal(expected.Body, response.Body);
    }

    private static string AssertFirstUse(IdempotencyOutcome begin)
    {
        Assert.Equal(IdempotencyStatus.Proceed, begin.Status);
        Assert.Null(begin.Response);
        Assert.False(begin.Resumed);
        return Assert.IsType<string>(begin.Seed);
    }

    [Fact]
    public async Task First_request_proceeds_and_its_response_is_replayed_for_the_same_request_only()
    {
        var (_, _, grain) = NewKey();

        AssertFirstUse(await grain.BeginAsync(Hash));
        await grain.CompleteAsync(Hash, Created);

        AssertReplay(await grain.BeginAsync(Hash), Created);
        AssertReplay(await grain.BeginAsync(Hash), Created);
        Assert.Equal(new IdempotencyOutcome(IdempotencyStatus.Mismatch, null), await grain.BeginAsync(OtherHash));
    }

    [Fact]
    public async Task Retry_arriving_while_the_first_runs_waits_for_its_response()
    {
        var (_, _, grain) = NewKey();
        Assert.Equal(IdempotencyStatus.Proceed, (await grain.BeginAsync(Hash)).Status);

        var waiting = grain.BeginAsync(Hash);
        // A different request under the same key is refused at once, even while the first runs. The grain is
        // reentrant, so this answer also shows the waiting retry is not blocking the activation.
        Assert.Equal(new IdempotencyOutcome(IdempotencyStatus.Mismatch, null), await grain.BeginAsync(OtherHash));
        Assert.False(waiting.IsCompleted);

        await grain.CompleteAsync(Hash, Created);

        AssertReplay(await waiting, Created);
    }

    [Fact]
    public async Task Abandoned_key_is_free_again()
    {
        var (_, _, grain) = NewKey();
        Assert.Equal(IdempotencyStatus.Proceed, (await grain.BeginAsync(Hash)).Status);

        await grain.AbandonAsync(Hash);

        Assert.Equal(IdempotencyStatus.Proceed, (await grain.BeginAsync(OtherHash)).Status);
        await grain.CompleteAsync(OtherHash, Created);
        AssertReplay(await grain.BeginAsync(OtherHash), Created);
        Assert.Equal(IdempotencyStatus.Mismatch, (await grain.BeginAsync(Hash)).Status);
    }

    [Fact]
    public async Task Abandon_with_another_hash_does_not_free_the_key()
    {
        var (_, _, grain) = NewKey();
        Assert.Equal(IdempotencyStatus.Proceed, (await grain.BeginAsync(Hash)).Status);

        await grain.AbandonAsync(OtherHash);

        Assert.Equal(IdempotencyStatus.Mismatch, (await grain.BeginAsync(OtherHash)).Status);
        await grain.CompleteAsync(Hash, Created);
        AssertReplay(await grain.BeginAsync(Hash), Created);
    }

    [Fact]
    public async Task Waiting_retry_proceeds_when_the_first_request_is_abandoned()
    {
        var (_, _, grain) = NewKey();
        Assert.Equal(IdempotencyStatus.Proceed, (await grain.BeginAsync(Hash)).Status);

        var waiting = grain.BeginAsync(Hash);
        Assert.Equal(IdempotencyStatus.Mismatch, (await grain.BeginAsync(OtherHash)).Status);
        await grain.AbandonAsync(Hash);

        AssertFirstUse(await waiting);
        await grain.CompleteAsync(Hash, Created);
        AssertReplay(await grain.BeginAsync(Hash), Created);
    }

    [Fact]
    public async Task Completed_key_expires_after_the_retention()
    {
        var (_, _, grain) = NewKey();
        Assert.Equal(IdempotencyStatus.Proceed, (await grain.BeginAsync(Hash)).Status);
        await grain.CompleteAsync(Hash, Created);

        fixture.Time.Advance(ClusterFixture.Idempotency.Retention - TimeSpan.FromMinutes(1));
        AssertReplay(await grain.BeginAsync(Hash), Created);

        fixture.Time.Advance(TimeSpan.FromMinutes(2));
        AssertFirstUse(await grain.BeginAsync(OtherHash));

        var second = Created with { Status = 200, Body = "{}" };
        await grain.CompleteAsync(OtherHash, second);
        AssertReplay(await grain.BeginAsync(OtherHash), second);
    }

    [Fact]
    public async Task Expired_record_in_the_table_is_not_replayed_after_reactivation()
    {
        var (_, _, grain) = NewKey();
        Assert.Equal(IdempotencyStatus.Proceed, (await grain.BeginAsync(Hash)).Status);
        await grain.CompleteAsync(Hash, Created);

        fixture.Time.Advance(ClusterFixture.Idempotency.Retention + TimeSpan.FromSeconds(1));
        await fixture.DeactivateAsync(grain);

        Assert.Equal(IdempotencyStatus.Proceed, (await grain.BeginAsync(OtherHash)).Status);
    }

    [Fact]
    public async Task Completed_record_survives_deactivation()
    {
        var (owner, key, grain) = NewKey();
        Assert.Equal(IdempotencyStatus.Proceed, (await grain.BeginAsync(Hash)).Status);
        await grain.CompleteAsync(Hash, Created);

        await fixture.DeactivateAsync(grain);

        AssertReplay(await grain.BeginAsync(Hash), Created);
        Assert.Equal(IdempotencyStatus.Mismatch, (await grain.BeginAsync(OtherHash)).Status);
        var stored = await new IdempotencyStore(fixture.Database).LoadAsync(owner, key);
        Assert.NotNull(stored);
        Assert.Equal(Hash, stored.RequestHash);
    }

    [Fact]
    public async Task Concurrent_first_requests_let_exactly_one_proceed_and_the_rest_replay()
    {
        var (owner, key, _) = NewKey();
        var factories = fixture.AllFactories;

        var begins = Enumerable.Range(0, 20)
            .Select(i => Task.Run(() => factories[i % factories.Count].GetGrain<IIdempotencyGrain>($"{owner}:{key}").BeginAsync(Hash)))
            .ToList();

        // Everyone but the one that proceeds waits for its response, so the first answer must be that one.
        var first = await await Task.WhenAny(begins);
        AssertFirstUse(first);
        await fixture.Grains.GetGrain<IIdempotencyGrain>($"{owner}:{key}").CompleteAsync(Hash, Created);

        var all = await Task.WhenAll(begins);
        Assert.Single(all, b => b.Status == IdempotencyStatus.Proceed);
        Assert.All(all.Where(b => b.Status != IdempotencyStatus.Proceed), b => AssertReplay(b, Created));
    }

    [Fact]
    public async Task A_failed_save_of_the_response_does_not_leave_the_key_in_progress()
    {
        var (owner, _, grain) = NewKey();
        // Injected fault: completing (an update of the pending row) fails for this owner only.
        await fixture.ExecuteSqlAsync($"""
            CREATE TRIGGER fail_{owner} BEFORE UPDATE ON idempotency_keys WHEN NEW.owner_id = '{owner}'
            BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;
            """);
        try
        {
            var seed = AssertFirstUse(await grain.BeginAsync(Hash));
            await Assert.ThrowsAnyAsync<Exception>(() => grain.CompleteAsync(Hash, Created));

            // The retry proceeds at once (it does not wait for a response that will never come), with the same seed.
            var retry = await grain.BeginAsync(Hash);
            Assert.Equal(IdempotencyStatus.Proceed, retry.Status);
            Assert.True(retry.Resumed);
            Assert.Equal(seed, retry.Seed);
        }
        finally
        {
            await fixture.ExecuteSqlAsync($"DROP TRIGGER fail_{owner}");
        }

        await grain.CompleteAsync(Hash, Created);
        AssertReplay(await grain.BeginAsync(Hash), Created);
    }

    [Fact]
    public async Task After_a_crash_the_same_request_resumes_with_its_seed_and_another_request_is_refused()
    {
        var (_, _, grain) = NewKey();
        var seed = AssertFirstUse(await grain.BeginAsync(Hash));

        // The activation (and with it the running mark) is lost, as when its silo dies mid-request.
        await fixture.DeactivateAsync(grain);

        Assert.Equal(IdempotencyStatus.Mismatch, (await grain.BeginAsync(OtherHash)).Status);
        var retry = await grain.BeginAsync(Hash);
        Assert.Equal(IdempotencyStatus.Proceed, retry.Status);
        Assert.True(retry.Resumed);
        Assert.Equal(seed, retry.Seed);
    }

    [Fact]
    public async Task A_request_whose_gateway_died_is_taken_over_after_the_wait()
    {
        var (_, _, grain) = NewKey();
        var seed = AssertFirstUse(await grain.BeginAsync(Hash));

        fixture.Time.Advance(ClusterFixture.Idempotency.WaitForFirst + TimeSpan.FromSeconds(1));

        var retry = await grain.BeginAsync(Hash);
        Assert.Equal(IdempotencyStatus.Proceed, retry.Status);
        Assert.Equal(seed, retry.Seed);
        await grain.CompleteAsync(Hash, Created);
        AssertReplay(await grain.BeginAsync(Hash), Created);
    }

    [Fact]
    public async Task An_interrupted_request_keeps_its_key_and_seed_and_an_abandoned_one_frees_them()
    {
        var (_, _, grain) = NewKey();
        var seed = AssertFirstUse(await grain.BeginAsync(Hash));
        await grain.InterruptAsync(Hash);
        Assert.Equal(IdempotencyStatus.Mismatch, (await grain.BeginAsync(OtherHash)).Status);
        Assert.Equal(seed, (await grain.BeginAsync(Hash)).Seed);

        await grain.AbandonAsync(Hash);
        await fixture.DeactivateAsync(grain);
        Assert.NotEqual(seed, AssertFirstUse(await grain.BeginAsync(OtherHash)));
    }

    [Fact]
    public async Task A_key_reused_after_its_retention_gets_a_new_seed()
    {
        var (_, _, grain) = NewKey();
        var seed = AssertFirstUse(await grain.BeginAsync(Hash));
        await grain.CompleteAsync(Hash, Created);

        fixture.Time.Advance(ClusterFixture.Idempotency.Retention + TimeSpan.FromSeconds(1));
        await fixture.DeactivateAsync(grain);

        Assert.NotEqual(seed, AssertFirstUse(await grain.BeginAsync(Hash)));
    }
}
