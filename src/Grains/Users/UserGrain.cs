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
}

/// <inheritdoc cref="IUserGrain"/>
public sealed class UserGrain(
    [PersistentState("user", GrainStorage.Main)] IPersistentState<UserState> state,
    ApiClock clock,
    UserDirectoryStore directory) : Grain, IUserGrain
{
    /// <summary>
    /// The directory row is written after the grain's own state; should that second write have been lost, the next
    /// activation writes it again.
    /// </summary>
    public override Task OnActivateAsync(CancellationToken cancellationToken) =>
        state.State.Exists ? directory.UpsertAsync(View()) : Task.CompletedTask;

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
            CreatedAt = now,
            UpdatedAt = now,
        };
        await state.WriteStateAsync();
        await directory.UpsertAsync(View());
        return true;
    }

    public Task<UserView?> GetAsync() => Task.FromResult(state.State.Exists ? View() : null);

    public Task<UserCredentials?> GetCredentialsAsync() =>
        Task.FromResult(state.State.Exists
            ? new UserCredentials(this.GetPrimaryKeyString(), state.State.PasswordHash, state.State.Role, state.State.Plan)
            : null);

    public async Task SetPasswordHashAsync(string passwordHash)
    {
        if (!state.State.Exists)
        {
            return;
        }

        state.State.PasswordHash = passwordHash;
        await state.WriteStateAsync();
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
        await directory.UpsertAsync(View());
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
        await directory.UpsertAsync(View());
        return View();
    }

    private static string? Pick(string? given, string? current, string field, IReadOnlyList<string> clear) =>
        clear.Contains(field) ? null : given ?? current;

    private UserView View()
    {
        var s = state.State;
        return new UserView(
            this.GetPrimaryKeyString(), s.Email, s.Username, new UserProfile(s.FirstName, s.LastName, s.AvatarUrl),
            s.Role, s.Plan, s.CreatedAt, s.UpdatedAt);
    }
}
