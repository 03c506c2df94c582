using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Http;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Users;
using ApiPlatform.Grains;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>
/// <c>/v1/users</c>: the caller's own account, password and sessions, the user directory, and administrators'
/// management of other accounts.
/// </summary>
public static class UsersApi
{
    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/users").WithTags(ApiTags.Users).RequireCaller()
            .WithParameter("id", "The user's id (usr_…).")
            .WithParameter("sessionId", "The session's id (ses_…), as GET /v1/users/me/sessions lists it.");

        group.MapGet("/", ListAsync)
            .Describe("listUsers", "List users",
                "The user directory: administrators see everyone; others see themselves and the users who share an organization with them.")
            .Paged()
            .WithQueryParameter<string>("search", "Matches email, username, first and last name (at most 100 characters).")
            .WithQueryParameter<string>("role", "Only users with this system role: user or admin.")
            .Produces<ListEnvelope<UserResponse>>()
            .ProducesErrors(400, 401, 403);
        group.MapGet("/me", GetMeAsync)
            .Describe("getMe", "Get your own account", "The caller's user, with its profile, role and plan. Answers If-None-Match with 304.")
            .WithContentETag()
            .Produces<DataEnvelope<UserResponse>>()
            .Produces(StatusCodes.Status304NotModified)
            .ProducesErrors(401, 403);
        group.MapPatch("/me", UpdateMeAsync)
            .Describe("updateMe", "Update your own account",
                "Changes the username and profile fields sent (JSON merge patch); email, password, role and plan cannot be changed here (400).")
            .Accepts<UpdateMeRequest>("application/json")
            .Produces<DataEnvelope<UserResponse>>()
            .ProducesErrors(400, 401, 403, 409, 413, 415);
        group.MapPost("/me/password", ChangePasswordAsync)
            .Describe("changePassword", "Change your password",
                "Needs current_password and new_password (8-128 characters). Every other session of the user ends; the current one "
                + "goes on. A wrong current_password is 400 naming it and counts towards the login lockout of the email (429). "
                + "Needs an access token from a login: an API key is 403.")
            .Accepts<ChangePasswordRequest>("application/json")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesErrors(400, 401, 403, 413, 415, 429);
        group.MapGet("/me/sessions", ListSessionsAsync)
            .Describe("listSessions", "List your login sessions",
                "The caller's active sessions, most recently used first: when each started, was last used (to the minute) and "
                + "expires, the login's user agent, and which one is current (this request's). Needs an access token: an API key "
                + "is 403.")
            .Paged()
            .Produces<ListEnvelope<SessionResponse>>()
            .ProducesErrors(400, 401, 403);
        group.MapDelete("/me/sessions/{sessionId}", EndSessionAsync)
            .Describe("endSession", "End one of your sessions",
                "Ends the session at once on every server: its access and refresh tokens stop working. Ending the current one is "
                + "a logout. Another user's or an already ended session is 404. Needs an access token: an API key is 403.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesErrors(401, 403, 404);
        group.MapDelete("/me/sessions", EndOtherSessionsAsync)
            .Describe("endOtherSessions", "End all your other sessions",
                "Logs out everywhere else: every session of the caller except the current one ends at once. Needs an access "
                + "token: an API key is 403.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesErrors(401, 403);
        group.MapGet("/{id}", GetUserAsync)
            .Describe("getUser", "Get a user",
                "Administrators see anyone; others see themselves and the users who share an organization with them. Anyone else "
                + "is 404, as if absent. Answers If-None-Match with 304.")
            .WithContentETag()
            .Produces<DataEnvelope<UserResponse>>()
            .Produces(StatusCodes.Status304NotModified)
            .ProducesErrors(401, 403, 404);
        group.MapPatch("/{id}", UpdateUserAsync)
            .Describe("updateUser", "Change a user's role, plan or disabled flag",
                "System administrators only (403 for everyone else, also about themselves). role is user or admin, plan a "
                + "configured plan, disabled a boolean. The change applies to the user's very next request, including existing "
                + "access tokens and API keys; disabling ends every session. The last active administrator cannot be demoted or "
                + "disabled (409).")
            .Accepts<UpdateUserRequest>("application/json")
            .Produces<DataEnvelope<UserResponse>>()
            .ProducesErrors(400, 401, 403, 404, 409, 413, 415);
        return routes;
    }

    /// <summary>
    /// One user: administrators see anyone; others see themselves and users who share an organization with them
    /// (the directory's rule); anyone else is 404, as if absent.
    /// </summary>
    private static async Task<Ok<DataEnvelope<UserResponse>>> GetUserAsync(string id, HttpContext context, GrainRefs grains)
    {
        var caller = context.GetCaller();
        var me = caller.RequireUser();
        if (!Ids.IsValid(id, Ids.User)
            || (id != me && !caller.IsAdministrator && !await grains.Get<IUserDirectoryWorker>(0).ShareAnOrganizationAsync(me, id)))
        {
            throw ApiException.NotFound("The user");
        }

        var user = await grains.Get<IUserGrain>(id).GetAsync() ?? throw ApiException.NotFound("The user");
        return TypedResults.Ok(new DataEnvelope<UserResponse>(UserResponse.From(user)));
    }

    /// <summary>
    /// An administrator changes a user's system role, plan or disabled flag. It applies to the user's very next request,
    /// on every silo, including existing access tokens and API keys. The last active administrator cannot be demoted
    /// or disabled (409).
    /// </summary>
    private static async Task<Ok<DataEnvelope<UserResponse>>> UpdateUserAsync(
        string id, HttpContext context, GrainRefs grains, IOptions<PlanOptions> plans)
    {
        var caller = context.GetCaller();
        var actor = caller.RequireUser();
        if (!caller.IsAdministrator)
        {
            throw ApiException.Forbidden("Only a system administrator can change a user's role, plan or disabled flag.");
        }

        var change = await UpdateUserRequest.ReadAsync(context.Request, plans.Value);
        if (!Ids.IsValid(id, Ids.User))
        {
            throw ApiException.NotFound("The user");
        }

        var outcome = await grains.Get<IUserAdministrationGrain>(0).ChangeAsync(actor, id, new AccountChange(change.Role, change.Plan, change.Disabled));
        return outcome.Status switch
        {
            AccountChangeStatus.Done => TypedResults.Ok(new DataEnvelope<UserResponse>(UserResponse.From(outcome.User!))),
            AccountChangeStatus.Forbidden => throw ApiException.Forbidden("Only an active system administrator can change accounts."),
            AccountChangeStatus.LastAdministrator => throw ApiException.Conflict(
                "This is the last active administrator: make another user an administrator first."),
            _ => throw ApiException.NotFound("The user"),
        };
    }

    /// <summary>Changes the caller's password (an access token's user only) and ends every other session.</summary>
    private static async Task<NoContent> ChangePasswordAsync(HttpContext context, IdentityService identity)
    {
        var caller = RequireSession(context);
        var (current, next) = await ChangePasswordRequest.ReadAsync(context.Request);
        await identity.ChangePasswordAsync(caller.UserId!, caller.SessionId!, current, next);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<ListEnvelope<SessionResponse>>> ListSessionsAsync(HttpContext context, GrainRefs grains)
    {
        var caller = RequireSession(context);
        var paging = Paging.From(context.Request);
        var page = await grains.Get<ISessionListWorker>(0).ListAsync(caller.UserId!, paging.Offset, paging.PerPage);
        var data = page.Items.Select(s => new SessionResponse(s.Id, s.CreatedAt, s.LastUsedAt, s.ExpiresAt, s.UserAgent, s.Id == caller.SessionId)).ToList();
        return TypedResults.Ok(new ListEnvelope<SessionResponse>(data, PageMeta.Of(paging.Page, paging.PerPage, page.Total)));
    }

    /// <summary>Ends one of the caller's sessions (the current one too: that is a logout). Another user's session is 404.</summary>
    private static async Task<NoContent> EndSessionAsync(string sessionId, HttpContext context, GrainRefs grains)
    {
        var caller = RequireSession(context);
        if (!Ids.IsValid(sessionId, Ids.Session) || !await grains.Get<ISessionGrain>(sessionId).EndForUserAsync(caller.UserId!))
        {
            throw ApiException.NotFound("The session");
        }

        return TypedResults.NoContent();
    }

    /// <summary>Ends every session of the caller but the current one ("log out everywhere else").</summary>
    private static async Task<NoContent> EndOtherSessionsAsync(HttpContext context, GrainRefs grains)
    {
        var caller = RequireSession(context);
        await grains.Get<IUserGrain>(caller.UserId!).EndSessionsAsync(caller.SessionId);
        return TypedResults.NoContent();
    }

    /// <summary>Password and sessions belong to a login: an API key (which has no session) is refused.</summary>
    private static Caller RequireSession(HttpContext context)
    {
        var caller = context.GetCaller();
        return caller.SessionId is null
            ? throw ApiException.Forbidden("This needs an access token from a login: API keys cannot manage passwords or sessions.")
            : caller;
    }

    /// <summary>
    /// The user directory: administrators see everyone; others see themselves and the users who share an
    /// organization with them. <c>search</c> matches email, username and names; <c>role</c> filters by system role.
    /// </summary>
    private static async Task<Ok<ListEnvelope<UserResponse>>> ListAsync(HttpContext context, GrainRefs grains)
    {
        var userId = context.GetCaller().RequireUser();
        var paging = Paging.From(context.Request);
        var search = QueryParameters.Single(context.Request, "search");
        if (search is { Length: > 100 })
        {
            throw ApiException.Invalid("search", "must be at most 100 characters");
        }

        if (search is not null && search.Any(char.IsControl))
        {
            throw ApiException.Invalid("search", "must not contain control characters");
        }

        var role = QueryParameters.Single(context.Request, "role");
        if (role is not null && !SystemRoles.IsValid(role))
        {
            throw ApiException.Invalid("role", $"must be '{SystemRoles.User}' or '{SystemRoles.Admin}'");
        }

        // The system role is the account's current one (not the token's), so a demotion takes effect at once.
        var scope = context.GetCaller().IsAdministrator ? null : userId;
        var page = await grains.Get<IUserDirectoryWorker>(0).QueryUsersAsync(
            new DirectoryQuery(scope, search?.Trim(), role, paging.Offset, paging.PerPage));
        return TypedResults.Ok(new ListEnvelope<UserResponse>(page.Items.Select(UserResponse.From).ToList(),
            PageMeta.Of(paging.Page, paging.PerPage, page.Total)));
    }


    private static async Task<Ok<DataEnvelope<UserResponse>>> GetMeAsync(HttpContext context, GrainRefs grains)
    {
        var user = await grains.Get<IUserGrain>(context.GetCaller().RequireUser()).GetAsync()
            ?? throw ApiException.NotFound("The user");
        return TypedResults.Ok(new DataEnvelope<UserResponse>(UserResponse.From(user)));
    }

    private static async Task<Ok<DataEnvelope<UserResponse>>> UpdateMeAsync(HttpContext context, GrainRefs grains)
    {
        var userId = context.GetCaller().RequireUser();
        var (username, update) = await UpdateMeRequest.ReadAsync(context.Request);
        var user = grains.Get<IUserGrain>(userId);
        if (username is not null)
        {
            await ChangeUsernameAsync(grains, user, userId, username);
        }

        var view = await user.UpdateProfileAsync(update)
            ?? throw ApiException.NotFound("The user");
        return TypedResults.Ok(new DataEnvelope<UserResponse>(UserResponse.From(view)));
    }

    /// <summary>Reserves the new name before taking it, and only then frees the old one.</summary>
    private static async Task ChangeUsernameAsync(GrainRefs grains, IUserGrain user, string userId, string username)
    {
        var current = await user.GetAsync() ?? throw ApiException.NotFound("The user");
        if (string.Equals(current.Username, username, StringComparison.Ordinal))
        {
            return;
        }

        var claim = grains.Get<IUniqueIndexGrain>(UniqueKeys.Username(username));
        var sameName = UniqueKeys.Username(username) == UniqueKeys.Username(current.Username);
        if (!sameName && !await claim.TryClaimAsync(userId))
        {
            throw ApiException.AlreadyExists("username", "This username is taken.");
        }

        await user.ChangeUsernameAsync(username);
        if (!sameName)
        {
            await claim.ConfirmAsync(userId);
            await grains.Get<IUniqueIndexGrain>(UniqueKeys.Username(current.Username)).ReleaseAsync(userId);
        }
    }
}
