using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Mail;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.RateLimiting;
using ApiPlatform.Grains.Users;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Identity;

/// <summary>
/// The account flows that go by mail: email verification, password reset. Tokens are single use (consumed by one
/// conditional update) and carried in links to <c>Email:LinkBaseUrl</c>. Whatever a request must not reveal (whether an
/// email has an account) is decided in <see cref="MailQueue"/> after the answer: the answer is the same, and takes the
/// same time, either way.
/// </summary>
public sealed class AccountEmailService(
    GrainRefs grains,
    MailQueue mail,
    MailSender sender,
    IOptions<EmailOptions> options,
    Grains.ApiClock clock,
    ILogger<AccountEmailService> logger)
{
    public static readonly TimeSpan PasswordResetLifetime = TimeSpan.FromHours(1);
    public static readonly TimeSpan VerificationLifetime = TimeSpan.FromDays(2);

    /// <summary>Queues the verification mail of a new (or not yet verified) account.</summary>
    public void SendVerification(string userId, string email) =>
        mail.Enqueue("email verification", async ct =>
        {
            var token = await grains.Get<IAccountTokenWorker>(0).IssueAsync(AccountTokens.EmailVerification, userId, email, VerificationLifetime);
            await sender.SendAsync(new MailMessage(email, "Verify your email address", $"""
                Hello,

                please confirm that {email} is your email address by opening this link within {VerificationLifetime.TotalHours:0} hours:

                {options.Value.Link("/verify-email", token)}

                If you did not create an account, you can ignore this mail.
                """), ct);
        });

    /// <summary>
    /// Asks for a password-reset mail. Answers the same whether or not the email has an account: only the per-address
    /// limit (which applies to any address) can refuse, and the lookup runs after the answer.
    /// </summary>
    public async Task RequestPasswordResetAsync(string email)
    {
        await ChargeAddressAsync("reset", email);
        mail.Enqueue("password reset", async ct =>
        {
            var userId = await grains.Get<IUniqueIndexGrain>(UniqueKeys.Email(email)).GetOwnerAsync();
            var user = userId is null ? null : await grains.Get<IUserGrain>(userId).GetCredentialsAsync();
            if (user is null || user.Disabled)
            {
                return;
            }

            var token = await grains.Get<IAccountTokenWorker>(0).IssueAsync(AccountTokens.PasswordReset, user.UserId, user.Email, PasswordResetLifetime);
            await sender.SendAsync(new MailMessage(user.Email, "Reset your password", $"""
                Hello,

                someone (hopefully you) asked to reset the password of the account {user.Email}. To choose a new one, open this
                link within an hour; it works once:

                {options.Value.Link("/reset-password", token)}

                If it was not you, ignore this mail: your password stays as it is.
                """), ct);
        });
    }

    /// <summary>Sets a new password with a reset token (once), and ends every session of the account.</summary>
    public async Task ConfirmPasswordResetAsync(string token, string newPassword)
    {
        var claim = await grains.Get<IAccountTokenWorker>(0).ConsumeAsync(AccountTokens.PasswordReset, token)
            ?? throw ApiException.Invalid("token", "is invalid, expired or already used; ask for a new reset mail");
        var hash = await Task.Run(() => IdentityService.HashPassword(newPassword));
        if (!await grains.Get<IUserGrain>(claim.UserId).ChangePasswordAsync(hash, keepSessionId: null))
        {
            throw ApiException.Invalid("token", "belongs to an account that no longer exists");
        }

        // A reset is how a locked-out owner gets back in.
        await grains.Get<ILoginThrottleGrain>(UniqueKeys.Email(claim.Email)).ResetAsync();
        logger.LogInformation("Password of {UserId} reset by mail; every session ended", claim.UserId);
    }

    /// <summary>Marks the email verified with a verification token (once).</summary>
    public async Task VerifyEmailAsync(string token)
    {
        var claim = await grains.Get<IAccountTokenWorker>(0).ConsumeAsync(AccountTokens.EmailVerification, token)
            ?? throw ApiException.Invalid("token", "is invalid, expired or already used; ask for a new verification mail");
        if (!await grains.Get<IUserGrain>(claim.UserId).VerifyEmailAsync(claim.Email))
        {
            throw ApiException.Invalid("token", "was sent to an address the account no longer has");
        }
    }

    /// <summary>Sends the verification mail again, to an account that has this email and is not verified yet.</summary>
    public async Task ResendVerificationAsync(string email)
    {
        await ChargeAddressAsync("verify", email);
        mail.Enqueue("email verification (again)", async _ =>
        {
            var userId = await grains.Get<IUniqueIndexGrain>(UniqueKeys.Email(email)).GetOwnerAsync();
            var user = userId is null ? null : await grains.Get<IUserGrain>(userId).GetCredentialsAsync();
            if (user is { Disabled: false, EmailVerified: false })
            {
                SendVerification(user.UserId, user.Email);
            }
        });
    }

    /// <summary>Spends one of the address's hourly requests (the same for any address, with or without an account).</summary>
    private async Task ChargeAddressAsync(string what, string email)
    {
        var policy = new RateLimitPolicy("mail-" + what, options.Value.MaxRequestsPerAddressPerHour, 3600);
        var decision = await grains.Get<IRateLimitGrain>($"mail:{what}:{UniqueKeys.Email(email)}|{policy.Name}").AcquireAsync(policy);
        if (!decision.Allowed)
        {
            throw ApiException.TooManyRequests($"Too many mails asked for this address. Try again after {decision.ResetAt:HH:mm} UTC.",
                decision.ResetAt - clock.UtcNow);
        }
    }
}
