using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Users;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// Creates the administrator named by <c>Bootstrap:AdminEmail</c> / <c>Bootstrap:AdminPassword</c> when no account
/// has that email. Registered after Orleans, so it runs once the silo is up. Administrators never come from
/// "first to register".
/// </summary>
internal sealed class BootstrapAdminService(
    IOptions<BootstrapOptions> options, IdentityService identity, IGrainFactory grains, ILogger<BootstrapAdminService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (string.IsNullOrWhiteSpace(o.AdminEmail))
        {
            return;
        }

        if (!Validation.IsEmail(o.AdminEmail.Trim())
            || o.AdminPassword is not { Length: >= Validation.PasswordMinLength and <= Validation.PasswordMaxLength }
            || !Validation.IsUsername(o.AdminUsername))
        {
            throw new InvalidOperationException(
                $"Bootstrap:AdminEmail must be an email, Bootstrap:AdminPassword {Validation.PasswordMinLength}-{Validation.PasswordMaxLength} characters, Bootstrap:AdminUsername a valid username.");
        }

        if (await grains.GetGrain<IUniqueIndexGrain>(UniqueKeys.Email(o.AdminEmail)).GetOwnerAsync() is not null)
        {
            return;
        }

        try
        {
            var admin = await identity.RegisterAsync(
                new Registration(o.AdminEmail, o.AdminUsername, o.AdminPassword, new UserProfile(null, null, null)),
                SystemRoles.Admin, PlanOptions.Enterprise, emailVerified: true);
            logger.LogInformation("Created bootstrap administrator {UserId}", admin.Id);
        }
        catch (ApiException e) when (e.Code == ProblemCodes.AlreadyExists)
        {
            // Another silo created it at the same moment, or the username is taken by someone else.
            logger.LogWarning("Bootstrap administrator not created: {Detail}", e.Detail);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
