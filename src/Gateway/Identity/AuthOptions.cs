namespace ApiPlatform.Gateway.Identity;

/// <summary>Account settings (configuration section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>Whether <c>POST /v1/auth/register</c> is open to anyone.</summary>
    public bool AllowRegistration { get; set; } = true;

    /// <summary>Whether login is refused (403 <c>email_not_verified</c>) until the account's email is verified.</summary>
    public bool RequireVerifiedEmail { get; set; }
}
