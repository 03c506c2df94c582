namespace ApiPlatform.Grains.Users;

/// <summary>
/// One user account (key: user id). Holds the profile, system role, plan and password hash.
/// Password hashing happens in the gateway, off the grain scheduler: the grain only stores hashes.
/// </summary>
[Alias("IUserGrain")]
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>Creates the user; returns false when this id already holds a user.</summary>
    [Alias("CreateAsync")]
    Task<bool> CreateAsync(NewUser user);

    /// <summary>The user, or null when no such user exists.</summary>
    [Alias("GetAsync")]
    Task<UserView?> GetAsync();

    /// <summary>The password hash and role, for login; null when no such user exists.</summary>
    [Alias("GetCredentialsAsync")]
    Task<UserCredentials?> GetCredentialsAsync();

    /// <summary>Replaces the password hash (e.g. when the hasher asks for a stronger rehash).</summary>
    [Alias("SetPasswordHashAsync")]
    Task SetPasswordHashAsync(string passwordHash);

    /// <summary>Records a new username; the caller has already reserved it. Returns the old one.</summary>
    [Alias("ChangeUsernameAsync")]
    Task<string?> ChangeUsernameAsync(string username);

    /// <summary>Applies a profile update; null when no such user exists.</summary>
    [Alias("UpdateProfileAsync")]
    Task<UserView?> UpdateProfileAsync(ProfileUpdate update);

    /// <summary>
    /// What a request needs to know about the account. <paramref name="holder"/> (a silo's memory) is told to forget
    /// the answer before the role, plan, disabled flag or email verification changes.
    /// </summary>
    [Alias("GetAccessAsync")]
    Task<AccountAccess> GetAccessAsync(IAccountHolder? holder);

    /// <summary>
    /// Applies an administrator's change (through <see cref="IUserAdministrationGrain"/> only, which guards the last
    /// administrator). Disabling or enabling also ends every session. Null when no such user exists.
    /// </summary>
    [Alias("ApplyChangeAsync")]
    Task<UserView?> ApplyChangeAsync(AccountChange change);

    /// <summary>
    /// Replaces the password hash and ends every session but <paramref name="keepSessionId"/> (none when null).
    /// False when no such user exists.
    /// </summary>
    [Alias("ChangePasswordAsync")]
    Task<bool> ChangePasswordAsync(string passwordHash, string? keepSessionId);

    /// <summary>Marks the email verified if it is still <paramref name="email"/>; false otherwise.</summary>
    [Alias("VerifyEmailAsync")]
    Task<bool> VerifyEmailAsync(string email);

    /// <summary>Ends every active session of the user but <paramref name="exceptSessionId"/>; returns how many ended.</summary>
    [Alias("EndSessionsAsync")]
    Task<int> EndSessionsAsync(string? exceptSessionId);
}
