"""Pages of the stand-in: plain HTML, Django sessions, real CSRF checks."""
from django.contrib.auth import authenticate, get_user_model, login
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from mathesar import __version__
from mathesar.models import DataFile


@login_required
def home(request):
    # Without a session cookie login_required redirects before any query: the
    # page answers even when the internal database is down, like Mathesar's.
    return render(request, "mathesar/home.html", {"version": __version__})


def login_page(request):
    error = None
    if request.method == "POST":
        user = authenticate(request, username=request.POST.get("username", ""),
                            password=request.POST.get("password", ""))
        if user is not None:
            login(request, user)
            return HttpResponseRedirect(_safe_next(request))
        error = "Wrong username or password."
    return render(request, "mathesar/login.html", {"error": error, "next": _safe_next(request)},
                  status=400 if error else 200)


def complete_installation(request):
    """Create the first admin; once one exists, send people to the login."""
    users = get_user_model().objects
    if users.filter(is_superuser=True).exists():
        return HttpResponseRedirect("/auth/login/")
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        password = request.POST.get("password", "")
        if username and len(password) >= 8:
            user = users.create_superuser(username=username, password=password, email="")
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return HttpResponseRedirect("/")
        return render(request, "mathesar/complete_installation.html",
                      {"error": "A username and a password of at least 8 characters are needed."}, status=400)
    return render(request, "mathesar/complete_installation.html", {})


@require_POST
def upload_data_file(request):
    """Store an uploaded file under MEDIA_ROOT/<username>/ (a data file import)."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "login required"}, status=403)
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": "no file in field 'file'"}, status=400)
    data_file = DataFile.objects.create(file=upload, user=request.user, base_name=upload.name[:100])
    return JsonResponse({"id": data_file.id, "file": data_file.file.name}, status=201)


@require_GET
def version(request):
    """Which release answers; touches no database, so it is neutral to health."""
    return HttpResponse(__version__ + "\n", content_type="text/plain")


def _safe_next(request):
    target = request.POST.get("next") or request.GET.get("next") or "/"
    return target if target.startswith("/") and not target.startswith("//") else "/"
