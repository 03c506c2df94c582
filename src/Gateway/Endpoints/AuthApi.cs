using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Gateway.RateLimiting;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Users;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary><c>/v1/auth</c>: register, login, refresh, logout, password reset and email verification.</summary>
public static class AuthApi
{
    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/auth").WithTags(ApiTags.Auth);

        group.MapPost("/register", RegisterAsync)
            .CarriesSecrets()
            .Describe("register", "Create an account",
                "Creates a user with a unique email and username and sends a verification mail. Usually it also starts a login "
                + "session: the answer carries an access token, a refresh token and the new user. When the deployment requires a "
                + "verified email (Auth:RequireVerifiedEmail), the answer is the user with verification_required: true and no "
                + "tokens; log in after POST /v1/auth/verify-email. Tell the shapes apart by access_token. Taken email or "
                + "username is 409; closed with 403 when the deployment does not allow registration.")
            .RateLimitedByAddress()
            .Accepts<RegisterRequest>("application/json")
            .ProducesOneOf<RegisterResponse, PendingVerificationResponse>(StatusCodes.Status201Created,
                "The account was created. With a login session (RegisterResponse: tokens and user), or, when the deployment "
                + "requires a verified email, without one (PendingVerificationResponse: user and verification_required, no tokens).")
            .ProducesErrors(400, 403, 409, 413, 415, 429);
        group.MapPost("/login", LoginAsync)
            .CarriesSecrets()
            .Describe("login", "Log in with email and password",
                "Starts a login session. Repeated failures for one email lock it out for a while (401 either way, so the answer "
                + "never tells which part was wrong).")
            .RateLimitedByAddress()
            .Accepts<LoginRequest>("application/json")
            .Produces<TokenResponse>()
            .ProducesErrors(400, 401, 403, 413, 415, 429);
        group.MapPost("/refresh", RefreshAsync)
            .CarriesSecrets()
            .Describe("refreshTokens", "Exchange a refresh token for new tokens",
                "Rotates the session's refresh token: the answer's refresh token replaces the one sent, which stops working. "
                + "Presenting a spent refresh token again ends the whole session (theft detection).")
            .RateLimitedByAddress()
            .Accepts<RefreshRequest>("application/json")
            .Produces<TokenResponse>()
            .ProducesErrors(400, 401, 413, 415, 429);
        group.MapPost("/password-reset", RequestPasswordResetAsync)
            .Describe("requestPasswordReset", "Request a password reset mail",
                "Mails a single-use reset link (valid 1 hour) to the account with this email, if there is one and it is not "
                + "disabled; asking again makes earlier links stop working. The answer is 202 with the same body whether or not "
                + "an account has the email, and the mail goes out after it, so the answer reveals nothing. At most 5 requests per "
                + "address per hour (Email:MaxRequestsPerAddressPerHour), then 429 with Retry-After.")
            .RateLimitedByAddress()
            .Accepts<EmailRequest>("application/json")
            .Produces<DataEnvelope<MailRequestResponse>>(StatusCodes.Status202Accepted)
            .ProducesErrors(400, 413, 415, 429);
        group.MapPost("/password-reset/confirm", ConfirmPasswordResetAsync)
            .Describe("confirmPasswordReset", "Set a new password with a reset token",
                "Takes the token from the reset mail and the new password (8-128 characters). The password is set, every session "
                + "of the account ends (log in again), and the login lockout of the email is lifted. An invalid, expired or used "
                + "token is 400 naming token.")
            .RateLimitedByAddress()
            .Accepts<PasswordResetConfirmRequest>("application/json")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesErrors(400, 413, 415, 429);
        group.MapPost("/verify-email", VerifyEmailAsync)
            .Describe("verifyEmail", "Verify an email address",
                "Takes the token from the verification mail (valid 48 hours; registration sends one) and sets the account's "
                + "email_verified to true. A used, expired or unknown token is 400 naming token.")
            .RateLimitedByAddress()
            .Accepts<TokenRequest>("application/json")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesErrors(400, 413, 415, 429);
        group.MapPost("/verify-email/resend", ResendVerificationAsync)
            .Describe("resendVerificationEmail", "Send a new verification mail",
                "Mails a new verification link to the account with this email if it is not verified yet; the newest link replaces "
                + "earlier ones. The answer is 202 with the same body whether or not such an account exists. At most 5 requests "
                + "per address per hour (Email:MaxRequestsPerAddressPerHour), then 429 with Retry-After.")
            .RateLimitedByAddress()
            .Accepts<EmailRequest>("application/json")
            .Produces<DataEnvelope<MailRequestResponse>>(StatusCodes.Status202Accepted)
            .ProducesErrors(400, 413, 415, 429);
        group.MapPost("/logout", LogoutAsync)
            .Describe("logout", "End the login session",
                "Ends the session of the access token sent: its access and refresh tokens stop working at once on every server. "
                + "API keys are revoked with DELETE /v1/api-keys/{id} instead (400).")
            .RequireCaller()
            .Produces(StatusCodes.Status204NoContent)
            .ProducesErrors(400, 401);
        return routes;
    }

    private static async Task<IResult> RegisterAsync(
        HttpRequest request, IdentityService identity, AccountEmailService emails, IOptions<AuthOptions> options)
    {
        if (!options.Value.AllowRegistration)
        {
            throw ApiException.Forbidden("Registration is closed on this deployment.");
        }

        var registration = await RegisterRequest.ReadAsync(request);
        var user = await identity.RegisterAsync(registration);
        emails.SendVerification(user.Id, user.Email);
        if (options.Value.RequireVerifiedEmail)
        {
            // No session until the email is verified: logging in is refused until then, so registering is too.
            return TypedResults.Created("/v1/users/me", new PendingVerificationResponse(UserResponse.From(user), VerificationRequired: true));
        }

        var tokens = await identity.StartSessionAsync(user.Id, request.Headers.UserAgent);
        return TypedResults.Created("/v1/users/me",
            new RegisterResponse(tokens.AccessToken, tokens.RefreshToken, tokens.TokenType, tokens.ExpiresIn, UserResponse.From(user)));
    }

    /// <summary>202 whether or not an account has the email: the mail (if any) goes out after the answer.</summary>
    private static async Task<Accepted<DataEnvelope<MailRequestResponse>>> RequestPasswordResetAsync(HttpRequest request, AccountEmailService emails)
    {
        var email = (await EmailRequest.ReadAsync(request)).Email;
        await emails.RequestPasswordResetAsync(email);
        return TypedResults.Accepted((string?)null, new DataEnvelope<MailRequestResponse>(MailRequestResponse.PasswordReset));
    }

    private static async Task<NoContent> ConfirmPasswordResetAsync(HttpRequest request, AccountEmailService emails)
    {
        var (token, password) = await PasswordResetConfirmRequest.ReadAsync(request);
        await emails.ConfirmPasswordResetAsync(token, password);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> VerifyEmailAsync(HttpRequest request, AccountEmailService emails)
    {
        var token = (await TokenRequest.ReadAsync(request)).Token;
        await emails.VerifyEmailAsync(token);
        return TypedResults.NoContent();
    }

    /// <summary>202 whether or not an unverified account has the email (as for password reset).</summary>
    private static async Task<Accepted<DataEnvelope<MailRequestResponse>>> ResendVerificationAsync(HttpRequest request, AccountEmailService emails)
    {
        var email = (await EmailRequest.ReadAsync(request)).Email;
        await emails.ResendVerificationAsync(email);
        return TypedResults.Accepted((string?)null, new DataEnvelope<MailRequestResponse>(MailRequestResponse.Verification));
    }

    private static async Task<Ok<TokenResponse>> LoginAsync(HttpRequest request, IdentityService identity)
    {
        var (email, password) = await LoginRequest.ReadAsync(request);
        return TypedResults.Ok(await identity.LoginAsync(email, password, request.Headers.UserAgent));
    }

    private static async Task<Ok<TokenResponse>> RefreshAsync(HttpRequest request, IdentityService identity)
    {
        var token = (await RefreshRequest.ReadAsync(request)).RefreshToken;
        return TypedResults.Ok(await identity.RefreshAsync(token));
    }

    private static async Task<NoContent> LogoutAsync(HttpContext context, GrainRefs grains)
    {
        var caller = context.GetCaller();
        if (caller.SessionId is null)
        {
            throw ApiException.BadRequest("Logout ends a login session; API keys are revoked with DELETE /v1/api-keys/{id}.");
        }

        await grains.Get<ISessionGrain>(caller.SessionId).RevokeAsync();
        return TypedResults.NoContent();
    }

    internal static UserProfile ReadProfile(BodyReader? profile) =>
        profile is null
            ? new UserProfile(null, null, null)
            : new UserProfile(
                profile.String("first_name", maxLength: 100),
                profile.String("last_name", maxLength: 100),
                Validation.HttpUrl(profile, "avatar_url"));
}
