using ApiPlatform.Grains.Users;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>A user on the wire.</summary>
public sealed record UserResponse(
    string Id, string Email, string Username, ProfileResponse Profile, string Role, string Plan, bool EmailVerified,
    bool Disabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static UserResponse From(UserView u) =>
        new(u.Id, u.Email, u.Username, new ProfileResponse(u.Profile.FirstName, u.Profile.LastName, u.Profile.AvatarUrl),
            u.Role, u.Plan, u.EmailVerified, u.Disabled, u.CreatedAt, u.UpdatedAt);
}

/// <summary>One of the caller's login sessions; <c>current</c> marks the one the request came with.</summary>
public sealed record SessionResponse(string Id, DateTimeOffset CreatedAt, DateTimeOffset LastUsedAt, DateTimeOffset ExpiresAt, string? UserAgent, bool Current);

/// <summary>The profile part of a user.</summary>
public sealed record ProfileResponse(string? FirstName, string? LastName, string? AvatarUrl);

/// <summary>Registration answers with the token pair, like login, plus the account it created.</summary>
public sealed record RegisterResponse(string AccessToken, string RefreshToken, string TokenType, int ExpiresIn, UserResponse User);

/// <summary>
/// Registration's answer when <c>Auth:RequireVerifiedEmail</c> is set: the account, and no tokens until its email is
/// verified.
/// </summary>
public sealed record PendingVerificationResponse(UserResponse User, bool VerificationRequired);

/// <summary>
/// The answer to a mail request (password reset, new verification mail): one fixed text per kind, the same whether or not
/// an account has the email, so the answer reveals nothing.
/// </summary>
public sealed record MailRequestResponse(string Message)
{
    public static readonly MailRequestResponse PasswordReset =
        new("If an account has this email, a mail with a password reset link is on its way.");

    public static readonly MailRequestResponse Verification =
        new("If an unverified account has this email, a mail with a new verification link is on its way.");

    public static MailRequestResponse Example => PasswordReset;
}
