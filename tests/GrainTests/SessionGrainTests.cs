using ApiPlatform.Grains;
using ApiPlatform.Grains.Identity;

namespace ApiPlatform.GrainTests;

public sealed class SessionGrainTests(ClusterFixture fixture)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    private (string Id, ISessionGrain Grain) NewSession()
    {
        var id = Ids.New(Ids.Session);
        return (id, fixture.Grains.GetGrain<ISessionGrain>(id));
    }

    [Fact]
    public async Task Start_returns_a_refresh_token_that_names_the_session()
    {
        var (id, session) = NewSession();

        var token = await session.StartAsync("usr_ann", Lifetime);

        Assert.StartsWith(RefreshTokens.Prefix, token);
        Assert.Equal(id, RefreshTokens.SessionIdOf(token));
        Assert.True(await session.IsActiveAsync());
    }

    [Fact]
    public async Task Refresh_rotates_the_token()
    {
        var (id, session) = NewSession();
        var first = await session.StartAsync("usr_ann", Lifetime);

        var outcome = await session.RefreshAsync(first);

        Assert.Equal(RefreshStatus.Rotated, outcome.Status);
        Assert.Equal("usr_ann", outcome.UserId);
        Assert.NotNull(outcome.RefreshToken);
        Assert.NotEqual(first, outcome.RefreshToken);
        Assert.Equal(id, RefreshTokens.SessionIdOf(outcome.RefreshToken));

        var next = await session.RefreshAsync(outcome.RefreshToken);
        Assert.Equal(RefreshStatus.Rotated, next.Status);
        Assert.True(await session.IsActiveAsync());
    }

    [Fact]
    public async Task Reused_refresh_token_revokes_the_session()
    {
        var (_, session) = NewSession();
        var first = await session.StartAsync("usr_ann", Lifetime);
        var current = (await session.RefreshAsync(first)).RefreshToken!;

        var replay = await session.RefreshAsync(first);

        Assert.Equal(RefreshStatus.Reused, replay.Status);
        Assert.Null(replay.RefreshToken);
        Assert.False(await session.IsActiveAsync());
        // The legitimate holder of the current token is logged out too.
        var afterTheft = await session.RefreshAsync(current);
        Assert.Equal(RefreshStatus.Invalid, afterTheft.Status);
        Assert.Null(afterTheft.RefreshToken);
    }

    [Fact]
    public async Task Unknown_token_is_invalid_and_leaves_the_session_alone()
    {
        var (_, session) = NewSession();
        var token = await session.StartAsync("usr_ann", Lifetime);
        var (otherId, other) = NewSession();
        var foreign = await other.StartAsync("usr_bob", Lifetime);

        string[] presented = [RefreshTokens.Create(otherId, "not-the-secret"), foreign, "garbage", "", token + "x"];
        foreach (var wrong in presented)
        {
            var outcome = await session.RefreshAsync(wrong);
            Assert.Equal(RefreshStatus.Invalid, outcome.Status);
            Assert.Null(outcome.UserId);
            Assert.Null(outcome.RefreshToken);
        }

        Assert.True(await session.IsActiveAsync());
        Assert.Equal(RefreshStatus.Rotated, (await session.RefreshAsync(token)).Status);
    }

    [Fact]
    public async Task Refresh_of_a_session_never_started_is_invalid()
    {
        var (id, session) = NewSession();

        var outcome = await session.RefreshAsync(RefreshTokens.Create(id, "anything"));

        Assert.Equal(RefreshStatus.Invalid, outcome.Status);
        Assert.False(await session.IsActiveAsync());
    }

    [Fact]
    public async Task Session_expires_after_its_lifetime()
    {
        var (_, session) = NewSession();
        var token = await session.StartAsync("usr_ann", Lifetime);

        fixture.Time.Advance(Lifetime - TimeSpan.FromSeconds(1));
        Assert.True(await session.IsActiveAsync());

        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await session.IsActiveAsync());
        Assert.Equal(RefreshStatus.Invalid, (await session.RefreshAsync(token)).Status);
    }

    [Fact]
    public async Task Refresh_slides_the_expiry()
    {
        var (_, session) = NewSession();
        var token = await session.StartAsync("usr_ann", Lifetime);

        // Three rotations, each before the previous expiry: 3 × 50 minutes is well past the first hour.
        for (var i = 0; i < 3; i++)
        {
            fixture.Time.Advance(TimeSpan.FromMinutes(50));
            var outcome = await session.RefreshAsync(token);
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
        var token = await session.StartAsync("usr_ann", Lifetime);

        await session.RevokeAsync();

        Assert.False(await session.IsActiveAsync());
        Assert.Equal(RefreshStatus.Invalid, (await session.RefreshAsync(token)).Status);
        await session.RevokeAsync();
        Assert.False(await session.IsActiveAsync());
    }

    [Fact]
    public async Task Session_id_cannot_be_started_twice()
    {
        var (_, session) = NewSession();
        var token = await session.StartAsync("usr_ann", Lifetime);

        await Assert.ThrowsAsync<InvalidOperationException>(() => session.StartAsync("usr_mallory", Lifetime));

        var outcome = await session.RefreshAsync(token);
        Assert.Equal(RefreshStatus.Rotated, outcome.Status);
        Assert.Equal("usr_ann", outcome.UserId);
    }

    [Fact]
    public async Task Session_survives_deactivation()
    {
        var (_, session) = NewSession();
        var first = await session.StartAsync("usr_ann", Lifetime);
        var current = (await session.RefreshAsync(first)).RefreshToken!;

        await fixture.DeactivateAsync(session);

        Assert.True(await session.IsActiveAsync());
        // The used-token history is persisted too: a replay after reload is still caught.
        Assert.Equal(RefreshStatus.Reused, (await session.RefreshAsync(first)).Status);
        Assert.Equal(RefreshStatus.Invalid, (await session.RefreshAsync(current)).Status);
    }
}
