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
}
