using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Identity;

/// <summary>The first administrator (configuration section <c>Bootstrap</c>), created at start-up when missing.</summary>
public sealed class BootstrapOptions
{
    public const string Section = "Bootstrap";

    public string? AdminEmail { get; set; }
    public string? AdminPassword { get; set; }
    public string AdminUsername { get; set; } = "admin";
}

/// <summary>Checks <see cref="BootstrapOptions"/> at start-up: without an email nothing is bootstrapped, so nothing is checked.</summary>
public sealed class BootstrapOptionsValidator : IValidateOptions<BootstrapOptions>
{
    public ValidateOptionsResult Validate(string? name, BootstrapOptions o) =>
        string.IsNullOrWhiteSpace(o.AdminEmail)
        || (Validation.IsEmail(o.AdminEmail.Trim())
            && o.AdminPassword is { Length: >= Validation.PasswordMinLength and <= Validation.PasswordMaxLength }
            && Validation.IsUsername(o.AdminUsername))
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"Bootstrap:AdminEmail must be an email, Bootstrap:AdminPassword {Validation.PasswordMinLength}-{Validation.PasswordMaxLength} characters, Bootstrap:AdminUsername a valid username.");
}
