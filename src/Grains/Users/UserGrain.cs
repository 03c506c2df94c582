using ApiPlatform.Grains.Identity;
using Microsoft.Extensions.Logging;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Users;

/// <summary>Persisted state of <see cref="UserGrain"/>.</summary>
[GenerateSerializer]
public sealed class UserState
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public string Email { get; set; } = "";
    [Id(2)] public string Username { get; set; } = "";
    [Id(3)] public string PasswordHash { get; set; } = "";
    [Id(4)] public string Role { get; set; } = SystemRoles.User;
    [Id(5)] public string Plan { get; set; } = "free";
    [Id(6)] public string? FirstName { get; set; }
    [Id(7)] public string? LastName { get; set; }
    [Id(8)] public string? AvatarUrl { get; set; }
    [Id(9)] public DateTimeOffset CreatedAt { get; set; }
    [Id(10)] public DateTimeOffset UpdatedAt { get; set; }
    // Both default false on purpose: serializers skip default values.
    [Id(11)] public bool Disabled { get; set; }
    [Id(12)] public bool EmailVerified { get; set; }
}

/// <inheritdoc cref="IUserGrain"/>
/// <remarks>
/// Silos keep the account's access facts in memory (<see cref="IAccountHolder"/>); a change of role, plan, disabled
/// flag or email verification makes every holder forget them before it answers, so the very next request anywhere
/// sees it. Ending sessions is this grain's workflow (disable, enable, password change): it lists the user's active
/// sessions and ends each through its grain; enabling ends them again, so a disable that crashed halfway leaves none.
/// </remarks>
public sealed class UserGrain(
    [PersistentState("user", GrainStorage.Main)] IPersistentState<UserState> state,
    ApiClock clock,
    UserDirectoryStore directory,
    LocalHolders localHolders,
    ILogger<UserGrain> logger) : Grain, IUserGrain
{
    private readonly Holders<IAccountHolder> _holders = new((holder, id) => holder.ForgetAsync(id));

    private readonly RowRepair _row = new(logger);

    /// <summary>
    /// The directory row is written after the grain's own state; should that second write have been lost, the next
    /// activation writes it again, beside its first calls (<see cref="RowRepair"/>).
    /// </summary>
    public override Task OnActivateAsync(CancellationToken cancellationToken) =>
        _row.Start(state.State.Exists, () => directory.UpsertAsync(View()), this.GetPrimaryKeyString());

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        _row.AfterAsync(() => _holders.ForgetOnDeactivationAsync(this.GetPrimaryKeyString(), reason, localHolders, logger));

    private Task WriteRowAsync() => _row.AfterAsync(() => directory.UpsertAsync(View()));

    public async Task<bool> CreateAsync(NewUser user)
    {
        if (state.State.Exists)
        {
            return false;
        }

        var now = clock.UtcNow;
        state.State = new UserState
        {
            Exists = true,
            Email = user.Email,
            Username = user.Username,
            PasswordHash = user.PasswordHash,
            Role = user.Role,
            Plan = user.Plan,
            FirstName = user.Profile.FirstName,
            LastName = user.Profile.LastName,
            AvatarUrl = user.Profile.AvatarUrl,
            EmailVerified = user.EmailVerified,
            CreatedAt = now,
            UpdatedAt = now,
        };
        await state.WriteStateAsync();
        await WriteRowAsync();
        return true;
    }

    public Task<UserView?> GetAsync() => Task.FromResult(state.State.Exists ? View() : null);

    public Task<UserCredentials?> GetCredentialsAsync()
    {
        var s = state.State;
        return Task.FromResult(s.Exists
            ? new UserCredentials(this.GetPrimaryKeyString(), s.PasswordHash, s.Role, s.Plan, s.Disabled, s.EmailVerified, s.Email)
            : null);
    }

    public Task<AccountAccess> GetAccessAsync(IAccountHolder? holder)
    {
        var s = state.State;
        if (!s.Exists)
        {
            return Task.FromResult(AccountAccess.Missing);
        }

        _holders.Add(holder);
        return Task.FromResult(new AccountAccess(true, s.Plan, s.Role, s.Disabled, s.EmailVerified));
    }

    public async Task SetPasswordHashAsync(string passwordHash)
    {
        if (!state.State.Exists)
        {
            return;
        }

        state.State.PasswordHash = passwordHash;
        await state.WriteStateAsync();
    }

    public async Task<bool> ChangePasswordAsync(string passwordHash, string? keepSessionId)
    {
        if (!state.State.Exists)
        {
            return false;
        }

        state.State.PasswordHash = passwordHash;
        state.State.UpdatedAt = clock.UtcNow;
        await state.WriteStateAsync();
        await EndSessionsAsync(keepSessionId);
        return true;
    }

    public async Task<UserView?> ApplyChangeAsync(AccountChange change)
    {
        var s = state.State;
        if (!s.Exists)
        {
            return null;
        }

        var disabledChanged = change.Disabled is { } disabled && disabled != s.Disabled;
        var changed = disabledChanged
            || (change.Role is { } role && role != s.Role)
            || (change.Plan is { } plan && plan != s.Plan);
        if (!changed)
        {
            return View();
        }

        s.Role = change.Role ?? s.Role;
        s.Plan = change.Plan ?? s.Plan;
        s.Disabled = change.Disabled ?? s.Disabled;
        s.UpdatedAt = clock.UtcNow;
        await state.WriteStateAsync();
        await _holders.ForgetEverywhereAsync(this.GetPrimaryKeyString(), logger);
        await WriteRowAsync();
        if (disabledChanged)
        {
            await EndSessionsAsync(null);
        }

        return View();
    }

    public async Task<bool> VerifyEmailAsync(string email)
    {
        var s = state.State;
        if (!s.Exists || !string.Equals(s.Email, email, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (!s.EmailVerified)
        {
            s.EmailVerified = true;
            s.UpdatedAt = clock.UtcNow;
            await state.WriteStateAsync();
            await _holders.ForgetEverywhereAsync(this.GetPrimaryKeyString(), logger);
            await WriteRowAsync();
        }

        return true;
    }

    public async Task<int> EndSessionsAsync(string? exceptSessionId)
    {
        var ended = 0;
        // The session feature's worker lists them: its table is not this feature's to read.
        foreach (var id in await GrainFactory.GetGrain<ISessionListWorker>(0).ActiveIdsAsync(this.GetPrimaryKeyString()))
        {
            // Why a grain calls grains here: each session's grain owns its row and its memory (an access token is
            // checked against the grain), so ending one must go through it.
            if (id != exceptSessionId && await GrainFactory.GetGrain<ISessionGrain>(id).EndForUserAsync(this.GetPrimaryKeyString()))
            {
                ended++;
            }
        }

        return ended;
    }

    public async Task<string?> ChangeUsernameAsync(string username)
    {
        if (!state.State.Exists)
        {
            return null;
        }

        var old = state.State.Username;
        state.State.Username = username;
        state.State.UpdatedAt = clock.UtcNow;
        await state.WriteStateAsync();
        await WriteRowAsync();
        return old;
    }

    public async Task<UserView?> UpdateProfileAsync(ProfileUpdate update)
    {
        if (!state.State.Exists)
        {
            return null;
        }

        var s = state.State;
        s.FirstName = Pick(update.FirstName, s.FirstName, "first_name", update.Clear);
        s.LastName = Pick(update.LastName, s.LastName, "last_name", update.Clear);
        s.AvatarUrl = Pick(update.AvatarUrl, s.AvatarUrl, "avatar_url", update.Clear);
        s.UpdatedAt = clock.UtcNow;
        await state.WriteStateAsync();
        await WriteRowAsync();
        return View();
    }

    private static string? Pick(string? given, string? current, string field, IReadOnlyList<string> clear) =>
        clear.Contains(field) ? null : given ?? current;

    private UserView View()
    {
        var s = state.State;
        return new UserView(
            this.GetPrimaryKeyString(), s.Email, s.Username, new UserProfile(s.FirstName, s.LastName, s.AvatarUrl),
            s.Role, s.Plan, s.CreatedAt, s.UpdatedAt, s.EmailVerified, s.Disabled);
    }
}
