"""Stands in for modules/face_restoration.py (A1111 v1.10.1): the FaceRestoration base
class and restore_faces(np_image), which hands the image to the restorer in
shared.face_restorers whose name() is opts.face_restoration_model (or the first one when
that option is None) and returns the image unchanged when there is none. (shared is
imported inside restore_faces: importing shared sets the restorers up, and they subclass
FaceRestoration.)"""


class FaceRestoration:
    def name(self):
        return "None"

    def restore(self, np_image):
        return np_image


def restore_faces(np_image):
    from modules import shared

    wanted = shared.opts.face_restoration_model
    chosen = [r for r in shared.face_restorers if wanted is None or r.name() == wanted]
    return chosen[0].restore(np_image) if chosen else np_image
