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

/// <summary>The first administrator (configuration section <c>Bootstrap</c>), created at start-up when missing.</summary>
public sealed class BootstrapOptions
{
    public const string Section = "Bootstrap";

    public string? AdminEmail { get; set; }
    public string? AdminPassword { get; set; }
    public string AdminUsername { get; set; } = "admin";
}
