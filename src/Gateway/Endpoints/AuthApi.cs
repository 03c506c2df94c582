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
                "Creates a user with a unique email and username and starts a login session: the answer carries an access token, "
                + "a refresh token and the new user. Closed with 403 when the deployment does not allow registration.")
            .RateLimitedByAddress()
            .Accepts<RegisterRequest>("application/json")
            .Produces<RegisterResponse>(StatusCodes.Status201Created)
            .Produces<PendingVerificationResponse>(StatusCodes.Status201Created)
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
            .RateLimitedByAddress()
            .Accepts<EmailRequest>("application/json")
            .Produces(StatusCodes.Status202Accepted)
            .ProducesErrors(400, 413, 415, 429);
        group.MapPost("/password-reset/confirm", ConfirmPasswordResetAsync)
            .RateLimitedByAddress()
            .Accepts<PasswordResetConfirmRequest>("application/json")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesErrors(400, 413, 415, 429);
        group.MapPost("/verify-email", VerifyEmailAsync)
            .RateLimitedByAddress()
            .Accepts<TokenRequest>("application/json")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesErrors(400, 413, 415, 429);
        group.MapPost("/verify-email/resend", ResendVerificationAsync)
            .RateLimitedByAddress()
            .Accepts<EmailRequest>("application/json")
            .Produces(StatusCodes.Status202Accepted)
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

        var body = await JsonBody.ReadAsync(request);
        var email = Validation.Email(body);
        var username = Validation.Username(body, required: true);
        var password = Validation.Password(body);
        var profile = ReadProfile(body.Object("profile"));
        body.ThrowIfInvalid();

        var user = await identity.RegisterAsync(new Registration(email!, username!, password!, profile));
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
    private static async Task<Accepted> RequestPasswordResetAsync(HttpRequest request, AccountEmailService emails)
    {
        var body = await JsonBody.ReadAsync(request);
        var email = Validation.Email(body);
        body.ThrowIfInvalid();
        await emails.RequestPasswordResetAsync(email!);
        return TypedResults.Accepted((string?)null);
    }

    private static async Task<NoContent> ConfirmPasswordResetAsync(HttpRequest request, AccountEmailService emails)
    {
        var body = await JsonBody.ReadAsync(request);
        var token = body.String("token", required: true, minLength: 1, maxLength: 200);
        var password = Validation.Password(body, "new_password");
        body.ThrowIfInvalid();
        await emails.ConfirmPasswordResetAsync(token!, password!);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> VerifyEmailAsync(HttpRequest request, AccountEmailService emails)
    {
        var body = await JsonBody.ReadAsync(request);
        var token = body.String("token", required: true, minLength: 1, maxLength: 200);
        body.ThrowIfInvalid();
        await emails.VerifyEmailAsync(token!);
        return TypedResults.NoContent();
    }

    /// <summary>202 whether or not an unverified account has the email (as for password reset).</summary>
    private static async Task<Accepted> ResendVerificationAsync(HttpRequest request, AccountEmailService emails)
    {
        var body = await JsonBody.ReadAsync(request);
        var email = Validation.Email(body);
        body.ThrowIfInvalid();
        await emails.ResendVerificationAsync(email!);
        return TypedResults.Accepted((string?)null);
    }

    private static async Task<Ok<TokenResponse>> LoginAsync(HttpRequest request, IdentityService identity)
    {
        var body = await JsonBody.ReadAsync(request);
        var email = body.String("email", required: true, maxLength: 254);
        // Not the registration rules: a login must not say which rule a stored password would break.
        var password = body.String("password", required: true, minLength: 1, maxLength: Validation.PasswordMaxLength, trim: false);
        body.ThrowIfInvalid();

        return TypedResults.Ok(await identity.LoginAsync(email!, password!, request.Headers.UserAgent));
    }

    private static async Task<Ok<TokenResponse>> RefreshAsync(HttpRequest request, IdentityService identity)
    {
        var body = await JsonBody.ReadAsync(request);
        var token = body.String("refresh_token", required: true, minLength: 1, maxLength: 200);
        body.ThrowIfInvalid();
        return TypedResults.Ok(await identity.RefreshAsync(token!));
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
