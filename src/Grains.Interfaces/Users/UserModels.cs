namespace ApiPlatform.Grains.Users;

/// <summary>System-wide roles. Organization roles are separate.</summary>
public static class SystemRoles
{
    public const string User = "user";
    public const string Admin = "admin";

    public static bool IsValid(string? role) => role is User or Admin;
}

/// <summary>A user as shown to callers: never carries the password hash.</summary>
[GenerateSerializer, Immutable, Alias("user-view.v1")]
public sealed record UserView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Email,
    [property: Id(2)] string Username,
    [property: Id(3)] UserProfile Profile,
    [property: Id(4)] string Role,
    [property: Id(5)] string Plan,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] DateTimeOffset UpdatedAt,
    [property: Id(8)] bool EmailVerified = false,
    [property: Id(9)] bool Disabled = false);

/// <summary>The editable profile part of a user.</summary>
[GenerateSerializer, Immutable, Alias("user-profile.v1")]
public sealed record UserProfile(
    [property: Id(0)] string? FirstName,
    [property: Id(1)] string? LastName,
    [property: Id(2)] string? AvatarUrl);

/// <summary>What registration hands to a new user grain; the password is already hashed.</summary>
[GenerateSerializer, Immutable, Alias("new-user.v1")]
public sealed record NewUser(
    [property: Id(0)] string Email,
    [property: Id(1)] string Username,
    [property: Id(2)] string PasswordHash,
    [property: Id(3)] string Role,
    [property: Id(4)] string Plan,
    [property: Id(5)] UserProfile Profile,
    [property: Id(6)] bool EmailVerified = false);

/// <summary>What login needs to check a password: stays inside the backend.</summary>
[GenerateSerializer, Immutable, Alias("user-credentials.v1")]
public sealed record UserCredentials(
    [property: Id(0)] string UserId,
    [property: Id(1)] string PasswordHash,
    [property: Id(2)] string Role,
    [property: Id(3)] string Plan,
    [property: Id(4)] bool Disabled = false,
    [property: Id(5)] bool EmailVerified = false,
    [property: Id(6)] string Email = "");

/// <summary>A partial profile update: a null field is left as it is; <see cref="Clear"/> names fields set to null.</summary>
[GenerateSerializer, Immutable, Alias("profile-update.v1")]
public sealed record ProfileUpdate(
    [property: Id(0)] string? FirstName,
    [property: Id(1)] string? LastName,
    [property: Id(2)] string? AvatarUrl,
    [property: Id(3)] IReadOnlyList<string> Clear);
