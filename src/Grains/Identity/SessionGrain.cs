using Orleans.Concurrency;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Identity;

/// <summary>
/// Persisted state of <see cref="SessionGrain"/> before sessions became rows of <c>sessions</c>; read once to move a
/// session started by an older version into its row.
/// </summary>
[GenerateSerializer]
public sealed class SessionState
{
    [Id(0)] public string? UserId { get; set; }
    [Id(1)] public string CurrentHash { get; set; } = "";
    [Id(2)] public List<string> UsedHashes { get; set; } = [];
    [Id(3)] public bool Revoked { get; set; }
    [Id(4)] public DateTimeOffset ExpiresAt { get; set; }
    [Id(5)] public TimeSpan Lifetime { get; set; }
}

/// <inheritdoc cref="ISessionGrain"/>
/// <remarks>
/// State is the session's row in <c>sessions</c>, loaded at activation and written before a change answers, so the
/// sessions list and the purge see what the grain sees. The pair issued by the last rotation is kept in memory only,
/// for the retry window: if the activation is lost within those seconds, a retry of that refresh counts as reuse and
/// ends the session (the safe side). The last use is written at most every <see cref="LastUseResolution"/>, so an
/// access token's request costs no write.
/// </remarks>
public sealed class SessionGrain(
    [PersistentState("session", GrainStorage.Main)] IPersistentState<SessionState> legacy,
    SessionStore store,
    ApiClock clock) : Grain, ISessionGrain
{
    /// <summary>How stale the stored <c>last_used_at</c> may be.</summary>
    public static readonly TimeSpan LastUseResolution = TimeSpan.FromMinutes(1);

    // Enough history to recognise a stolen token replayed long after; older ones are simply invalid.
    private const int UsedHashesKept = 64;

    private SessionRow? _row;
    private Rotation? _lastRotation;

    private sealed record Rotation(string FromHash, string RefreshToken, DateTimeOffset At)
    {
        public string? AccessToken { get; set; }
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var id = this.GetPrimaryKeyString();
        _row = await store.LoadAsync(id);
        if (_row is null && legacy.State.UserId is { } userId)
        {
            var s = legacy.State;
            var now = Now();
            _row = new SessionRow(id, userId, now, now, s.ExpiresAt, s.ExpiresAt, s.Revoked ? now : null, s.Lifetime, null,
                s.CurrentHash, s.UsedHashes);
            await store.SaveAsync(_row);
            await legacy.ClearStateAsync();
        }
    }

    public async Task<string> StartAsync(SessionStart start)
    {
        if (_row is not null)
        {
            throw new InvalidOperationException("Session ids are single use.");
        }

        var token = NewToken();
        var now = Now();
        var maxExpiresAt = now + start.MaxLifetime;
        var row = new SessionRow(this.GetPrimaryKeyString(), start.UserId, now, now, Min(now + start.Lifetime, maxExpiresAt), maxExpiresAt,
            null, start.Lifetime, start.UserAgent, SecretHash.Of(token), []);
        await store.SaveAsync(row);
        _row = row;
        return token;
    }

    public async Task<RefreshOutcome> RefreshAsync(string refreshToken, TimeSpan retryWindow)
    {
        if (_row is not { } row || !IsActive(row))
        {
            return new RefreshOutcome(RefreshStatus.Invalid, null, null);
        }

        if (SecretHash.Matches(refreshToken, row.CurrentHash))
        {
            var next = NewToken();
            var now = Now();
            var used = row.UsedHashes.Append(row.CurrentHash).TakeLast(UsedHashesKept).ToList();
            var rotated = row with
            {
                CurrentHash = SecretHash.Of(next),
                UsedHashes = used,
                ExpiresAt = Min(now + row.Lifetime, row.MaxExpiresAt),
                LastUsedAt = now,
            };
            await store.SaveAsync(rotated);
            _row = rotated;
            _lastRotation = new Rotation(row.CurrentHash, next, now);
            return new RefreshOutcome(RefreshStatus.Rotated, row.UserId, next);
        }

        if (_lastRotation is { } last && clock.UtcNow - last.At < retryWindow && SecretHash.Matches(refreshToken, last.FromHash))
        {
            // The answer to that refresh was lost on its way: the client gets the same new pair again.
            return new RefreshOutcome(RefreshStatus.Rotated, row.UserId, last.RefreshToken, last.AccessToken);
        }

        if (row.UsedHashes.Any(h => SecretHash.Matches(refreshToken, h)))
        {
            // A used token came back: either the client or a thief holds a copy. End the session for both.
            await EndAsync(row);
            return new RefreshOutcome(RefreshStatus.Reused, row.UserId, null);
        }

        return new RefreshOutcome(RefreshStatus.Invalid, null, null);
    }

    public Task RecordAccessTokenAsync(string refreshToken, string accessToken)
    {
        if (_lastRotation is { } last && last.RefreshToken == refreshToken)
        {
            last.AccessToken = accessToken;
        }

        return Task.CompletedTask;
    }

    public async Task<bool> IsActiveAsync()
    {
        if (_row is not { } row || !IsActive(row))
        {
            return false;
        }

        var now = Now();
        if (now - row.LastUsedAt >= LastUseResolution)
        {
            var used = row with { LastUsedAt = now };
            await store.SaveAsync(used);
            _row = used;
        }

        return true;
    }

    public async Task RevokeAsync()
    {
        if (_row is { RevokedAt: null } row)
        {
            await EndAsync(row);
        }
    }

    public async Task<bool> EndForUserAsync(string userId)
    {
        if (_row is not { } row || row.UserId != userId || !IsActive(row))
        {
            return false;
        }

        await EndAsync(row);
        return true;
    }

    private async Task EndAsync(SessionRow row)
    {
        var ended = row with { RevokedAt = Now() };
        await store.SaveAsync(ended);
        _row = ended;
        _lastRotation = null;
    }

    private bool IsActive(SessionRow row) => row.RevokedAt is null && clock.UtcNow < row.ExpiresAt;

    private DateTimeOffset Now() => DbTime.Truncate(clock.UtcNow);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private string NewToken() => RefreshTokens.Create(this.GetPrimaryKeyString(), Ids.RandomToken(43));
}

/// <inheritdoc cref="ISessionListWorker"/>
[StatelessWorker]
[Reentrant]
public sealed class SessionListWorker(SessionStore store, ApiClock clock) : Grain, ISessionListWorker
{
    public Task<SessionPage> ListAsync(string userId, int offset, int limit) => store.ListAsync(userId, clock.UtcNow, offset, limit);

    public Task<IReadOnlyList<string>> ActiveIdsAsync(string userId) => store.ActiveIdsAsync(userId, clock.UtcNow);
}
