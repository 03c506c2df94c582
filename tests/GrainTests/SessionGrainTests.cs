using ApiPlatform.Grains;
using ApiPlatform.Grains.Identity;

namespace ApiPlatform.GrainTests;

public sealed class SessionGrainTests(ClusterFixture fixture)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    private static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(4);
    private static readonly TimeSpan RetryWindow = TimeSpan.FromSeconds(30);

    private static Task<string> StartAsync(ISessionGrain session, string userId, string? userAgent = null) =>
        session.StartAsync(new SessionStart(userId, Lifetime, MaxLifetime, userAgent));

    private (string Id, ISessionGrain Grain) NewSession()
    {
        var id = Ids.New(Ids.Session);
        return (id, fixture.Grains.GetGrain<ISessionGrain>(id));
    }

    [Fact]
    public async Task Start_returns_a_refresh_token_that_names_the_session()
    {
        var (id, session) = NewSession();

        var token = await StartAsync(session, "usr_ann");

        Assert.StartsWith(RefreshTokens.Prefix, token);
        Assert.Equal(id, RefreshTokens.SessionIdOf(token));
        Assert.True(await session.IsActiveAsync());
    }

    [Fact]
    public async Task Refresh_rotates_the_token()
    {
        var (id, session) = NewSession();
        var first = await StartAsync(session, "usr_ann");

        var outcome = await session.RefreshAsync(first, TimeSpan.Zero);

        Assert.Equal(RefreshStatus.Rotated, outcome.Status);
        Assert.Equal("usr_ann", outcome.UserId);
        Assert.NotNull(outcome.RefreshToken);
        Assert.NotEqual(first, outcome.RefreshToken);
        Assert.Equal(id, RefreshTokens.SessionIdOf(outcome.RefreshToken));

        var next = await session.RefreshAsync(outcome.RefreshToken, TimeSpan.Zero);
        Assert.Equal(RefreshStatus.Rotated, next.Status);
        Assert.True(await session.IsActiveAsync());
    }

    [Fact]
    public async Task Reused_refresh_token_revokes_the_session()
    {
        var (_, session) = NewSession();
        var first = await StartAsync(session, "usr_ann");
        var current = (await session.RefreshAsync(first, TimeSpan.Zero)).RefreshToken!;

        var replay = await session.RefreshAsync(first, TimeSpan.Zero);

        Assert.Equal(RefreshStatus.Reused, replay.Status);
        Assert.Null(replay.RefreshToken);
        Assert.False(await session.IsActiveAsync());
        // The legitimate holder of the current token is logged out too.
        var afterTheft = await session.RefreshAsync(current, TimeSpan.Zero);
        Assert.Equal(RefreshStatus.Invalid, afterTheft.Status);
        Assert.Null(afterTheft.RefreshToken);
    }

    [Fact]
    public async Task Unknown_token_is_invalid_and_leaves_the_session_alone()
    {
        var (_, session) = NewSession();
        var token = await StartAsync(session, "usr_ann");
        var (otherId, other) = NewSession();
        var foreign = await StartAsync(other, "usr_bob");

        string[] presented = [RefreshTokens.Create(otherId, "not-the-secret"), foreign, "garbage", "", token + "x"];
        foreach (var wrong in presented)
        {
            var outcome = await session.RefreshAsync(wrong, TimeSpan.Zero);
            Assert.Equal(RefreshStatus.Invalid, outcome.Status);
            Assert.Null(outcome.UserId);
            Assert.Null(outcome.RefreshToken);
        }

        Assert.True(await session.IsActiveAsync());
        Assert.Equal(RefreshStatus.Rotated, (await session.RefreshAsync(token, TimeSpan.Zero)).Status);
    }

    [Fact]
    public async Task Refresh_of_a_session_never_started_is_invalid()
    {
        var (id, session) = NewSession();

        var outcome = await session.RefreshAsync(RefreshTokens.Create(id, "anything"), TimeSpan.Zero);

        Assert.Equal(RefreshStatus.Invalid, outcome.Status);
        Assert.False(await session.IsActiveAsync());
    }

    [Fact]
    public async Task Session_expires_after_its_lifetime()
    {
        var (_, session) = NewSession();
        var token = await StartAsync(session, "usr_ann");

        fixture.Time.Advance(Lifetime - TimeSpan.FromSeconds(1));
        Assert.True(await session.IsActiveAsync());

        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await session.IsActiveAsync());
        Assert.Equal(RefreshStatus.Invalid, (await session.RefreshAsync(token, TimeSpan.Zero)).Status);
    }

    [Fact]
    public async Task Refresh_slides_the_expiry()
    {
        var (_, session) = NewSession();
        var token = await StartAsync(session, "usr_ann");

        // Three rotations, each before the previous expiry: 3 × 50 minutes is well past the first hour.
        for (var i = 0; i < 3; i++)
        {
            fixture.Time.Advance(TimeSpan.FromMinutes(50));
            var outcome = await session.RefreshAsync(token, TimeSpan.Zero);
            Assert.Equal(RefreshStatus.Rotated, outcome.Status);
            token = outcome.RefreshToken!;
        }

        Assert.True(await session.IsActiveAsync());
        fixture.Time.Advance(Lifetime);
        Assert.False(await session.IsActiveAsync());
    }

    [Fact]
    public async Task Revoke_ends_the_session()
    {
        var (_, session) = NewSession();
        var token = await StartAsync(session, "usr_ann");

        await session.RevokeAsync();

        Assert.False(await session.IsActiveAsync());
        Assert.Equal(RefreshStatus.Invalid, (await session.RefreshAsync(token, TimeSpan.Zero)).Status);
        await session.RevokeAsync();
        Assert.False(await session.IsActiveAsync());
    }

    [Fact]
    public async Task Session_id_cannot_be_started_twice()
    {
        var (_, session) = NewSession();
        var token = await StartAsync(session, "usr_ann");

        await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(session, "usr_mallory"));

        var outcome = await session.RefreshAsync(token, TimeSpan.Zero);
        Assert.Equal(RefreshStatus.Rotated, outcome.Status);
        Assert.Equal("usr_ann", outcome.UserId);
    }

    [Fact]
    public async Task Session_survives_deactivation()
    {
        var (_, session) = NewSession();
        var first = await StartAsync(session, "usr_ann");
        var current = (await session.RefreshAsync(first, TimeSpan.Zero)).RefreshToken!;

        await fixture.DeactivateAsync(session);

        Assert.True(await session.IsActiveAsync());
        // The used-token history is persisted too: a replay after reload is still caught.
        Assert.Equal(RefreshStatus.Reused, (await session.RefreshAsync(first, TimeSpan.Zero)).Status);
        Assert.Equal(RefreshStatus.Invalid, (await session.RefreshAsync(current, TimeSpan.Zero)).Status);
    }

    [Fact]
    public async Task A_refresh_retried_within_the_window_gets_the_same_pair_and_the_session_lives_on()
    {
        var (_, session) = NewSession();
        var first = await StartAsync(session, "usr_ann");
        var rotated = await session.RefreshAsync(first, RetryWindow);
        await session.RecordAccessTokenAsync(rotated.RefreshToken!, "access-token-1");

        fixture.Time.Advance(RetryWindow - TimeSpan.FromSeconds(1));
        var retried = await session.RefreshAsync(first, RetryWindow);

        Assert.Equal(RefreshStatus.Rotated, retried.Status);
        Assert.Equal(rotated.RefreshToken, retried.RefreshToken);
        Assert.Equal("access-token-1", retried.AccessToken);
        Assert.True(await session.IsActiveAsync());
        Assert.Equal(RefreshStatus.Rotated, (await session.RefreshAsync(rotated.RefreshToken!, RetryWindow)).Status);
    }

    [Fact]
    public async Task A_refresh_token_presented_again_after_the_window_is_reuse()
    {
        var (_, session) = NewSession();
        var first = await StartAsync(session, "usr_ann");
        await session.RefreshAsync(first, RetryWindow);

        fixture.Time.Advance(RetryWindow);

        Assert.Equal(RefreshStatus.Reused, (await session.RefreshAsync(first, RetryWindow)).Status);
        Assert.False(await session.IsActiveAsync());
    }

    [Fact]
    public async Task Only_the_token_rotated_last_is_retried_an_older_one_is_reuse()
    {
        var (_, session) = NewSession();
        var first = await StartAsync(session, "usr_ann");
        var second = (await session.RefreshAsync(first, RetryWindow)).RefreshToken!;
        await session.RefreshAsync(second, RetryWindow);

        Assert.Equal(RefreshStatus.Reused, (await session.RefreshAsync(first, RetryWindow)).Status);
    }

    [Fact]
    public async Task Refreshing_never_carries_a_session_past_its_absolute_lifetime()
    {
        var (_, session) = NewSession();
        var token = await StartAsync(session, "usr_ann");
        for (var elapsed = TimeSpan.Zero; elapsed + TimeSpan.FromMinutes(50) < MaxLifetime; elapsed += TimeSpan.FromMinutes(50))
        {
            fixture.Time.Advance(TimeSpan.FromMinutes(50));
            token = (await session.RefreshAsync(token, TimeSpan.Zero)).RefreshToken!;
        }

        // 4 h 10 min after the start: within an hour of the last refresh, but past the absolute end.
        fixture.Time.Advance(TimeSpan.FromMinutes(50));
        Assert.False(await session.IsActiveAsync());
        Assert.Equal(RefreshStatus.Invalid, (await session.RefreshAsync(token, TimeSpan.Zero)).Status);
    }

    [Fact]
    public async Task A_user_lists_their_active_sessions_and_ends_only_their_own()
    {
        var userId = Ids.New(Ids.User);
        var (firstId, first) = NewSession();
        var (secondId, second) = NewSession();
        var (_, ended) = NewSession();
        await StartAsync(first, userId, "curl/8.0");
        fixture.Time.Advance(TimeSpan.FromMinutes(2));
        await StartAsync(second, userId);
        await StartAsync(ended, userId);
        await ended.RevokeAsync();

        var page = await fixture.Grains.GetGrain<ISessionListWorker>(0).ListAsync(userId, 0, 10);
        Assert.Equal(2, page.Total);
        Assert.Equal([secondId, firstId], page.Items.Select(s => s.Id));
        Assert.Equal("curl/8.0", page.Items[1].UserAgent);

        Assert.False(await first.EndForUserAsync(Ids.New(Ids.User)));
        Assert.True(await first.IsActiveAsync());
        Assert.True(await first.EndForUserAsync(userId));
        Assert.False(await first.IsActiveAsync());
        Assert.Equal(1, (await fixture.Grains.GetGrain<ISessionListWorker>(0).ListAsync(userId, 0, 10)).Total);
    }

    [Fact]
    public async Task Ended_and_expired_sessions_are_purged_from_storage()
    {
        var store = new SessionStore(fixture.Database);
        var (endedId, ended) = NewSession();
        var (expiredId, expired) = NewSession();
        var (liveId, live) = NewSession();
        await StartAsync(ended, "usr_ann");
        await StartAsync(expired, "usr_ann");
        await ended.RevokeAsync();
        fixture.Time.Advance(Lifetime + TimeSpan.FromMinutes(1));
        await StartAsync(live, "usr_ann");

        await store.PurgeAsync(fixture.Time.GetUtcNow());

        Assert.Null(await store.LoadAsync(endedId));
        Assert.Null(await store.LoadAsync(expiredId));
        Assert.NotNull(await store.LoadAsync(liveId));
    }
}
